"""`callscope transcribe`: a dialogue on the terminal, no database involved."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cli.transcription import register
from core.settings import get_settings
from tests.transcription.golden import EMPTY_RECORDINGS, GOLDEN_CALLS, RECORDINGS
from transcription.engine import Engine
from transcription.wer import word_error_rate

CALL = GOLDEN_CALLS[0]


@pytest.fixture
def callscope(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[click.Group]:
    """The transcription commands on a bare group, with settings read afresh from the env."""
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("CALLSCOPE_DATABASE_URL", f"sqlite:///{tmp_path}/never-created.db")
    get_settings.cache_clear()

    @click.group()
    def group() -> None:
        pass

    register(group)
    yield group
    get_settings.cache_clear()
    assert not (tmp_path / "never-created.db").exists()


@pytest.mark.slow
def test_json_dialogue_from_the_legs_beside_the_mixed_file(
    callscope: click.Group, engine: Engine
) -> None:
    result = CliRunner().invoke(callscope, ["transcribe", str(CALL.mixed), "--format", "json"])

    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["language"] == "en"
    assert data["duration_s"] == pytest.approx(13.1, abs=0.05)
    speakers = [s["speaker"] for s in data["segments"]]
    assert speakers[0] == "agent" and "customer" in speakers
    customer = " ".join(s["text"] for s in data["segments"] if s["speaker"] == "customer")
    assert word_error_rate(CALL.customer_text, customer) <= 0.3
    assert all(set(s) == {"start", "end", "speaker", "text"} for s in data["segments"])


@pytest.mark.slow
def test_text_dialogue_with_explicit_legs_and_language(
    callscope: click.Group, engine: Engine
) -> None:
    call = GOLDEN_CALLS[3]
    result = CliRunner().invoke(
        callscope,
        [
            "transcribe",
            str(call.mixed),
            "--customer",
            str(call.customer),
            "--agent",
            str(call.agent),
            "--language",
            "zh",
        ],
    )

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"# {call.mixed.name}: 18.0 s, language en")
    assert "overtalk" in lines[0]
    assert any("] agent: " in line and "morning" in line.lower() for line in lines)
    assert any("] customer: " in line and "manager" in line.lower() for line in lines)
    assert "English-only" in result.stderr and "zh" in result.stderr


@pytest.mark.slow
def test_pbx_path_is_found_through_the_path_map(
    callscope: click.Group, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALLSCOPE_RECORDING_PATH_MAP", f"/var/spool/asterisk/monitor={RECORDINGS}")
    get_settings.cache_clear()

    result = CliRunner().invoke(
        callscope, ["transcribe", f"/var/spool/asterisk/monitor/{CALL.mixed.name}"]
    )

    assert result.exit_code == 0, result.output
    assert "] customer: " in result.stdout


def test_empty_recording_is_a_clear_error(callscope: click.Group) -> None:
    result = CliRunner().invoke(callscope, ["transcribe", str(EMPTY_RECORDINGS[0])])

    assert result.exit_code == 1
    assert "is empty (44-byte WAV header, no audio): the call never reached a person" in (
        result.stderr
    )


def test_missing_and_corrupt_files_are_clear_errors(callscope: click.Group, tmp_path: Path) -> None:
    corrupt = tmp_path / "junk.wav"
    corrupt.write_bytes(b"not audio at all" * 100)

    missing = CliRunner().invoke(callscope, ["transcribe", str(tmp_path / "gone.wav")])
    bad = CliRunner().invoke(callscope, ["transcribe", str(corrupt)])

    assert missing.exit_code == 1
    assert "does not exist" in missing.stderr
    assert bad.exit_code == 1
    assert "is not a WAV file" in bad.stderr


def test_model_that_needs_a_download_is_a_clear_error(
    callscope: click.Group, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALLSCOPE_WHISPER_MODEL", "large-v3")
    get_settings.cache_clear()

    result = CliRunner().invoke(callscope, ["transcribe", str(CALL.mixed)])

    assert result.exit_code == 1
    assert "CALLSCOPE_ALLOW_MODEL_DOWNLOAD=1" in result.stderr
