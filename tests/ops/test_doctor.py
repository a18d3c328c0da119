"""`callscope doctor` says what works and what to do about what does not."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import common
from cli.doctor import doctor
from core.settings import get_settings
from telephony.simulator import SimulatorOptions
from telephony.simulator_thread import SimulatorThread
from tests.conftest import PBX_MONITOR_DIR, TRACES


@pytest.fixture
def env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    with SimulatorThread(TRACES / "golden.ami", SimulatorOptions(port=0, speed=0)) as sim:
        values = {
            "CALLSCOPE_DATABASE_URL": db_url,
            "CALLSCOPE_BROKER_URL": f"sqla+sqlite:///{tmp_path / 'broker.db'}",
            "CALLSCOPE_RECORDING_PATH_MAP": f"{PBX_MONITOR_DIR}={TRACES / 'recordings'}",
            "CALLSCOPE_AMI_PORT": str(sim.port),
            "CALLSCOPE_AMI_USERNAME": "callscope",
            "CALLSCOPE_AMI_SECRET": "callscope",
            "CALLSCOPE_QUEUE_LOG_PATH": str(TRACES / "golden.queue_log"),
        }
        for key, value in values.items():
            monkeypatch.setenv(key, value)
        get_settings.cache_clear()
        common.engine.cache_clear()
        yield values
    get_settings.cache_clear()
    common.engine.cache_clear()


def test_a_healthy_deployment_passes_every_check(env: dict[str, str]) -> None:
    result = CliRunner().invoke(doctor, [])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split()[1] for line in lines] == [
        "settings",
        "database",
        "broker",
        "model",
        "recordings",
        "ami",
        "queue_log",
    ]
    assert all(line.startswith("ok") for line in lines)


def test_each_failure_says_what_to_do(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CALLSCOPE_AMI_SECRET", "wrong")
    monkeypatch.setenv("CALLSCOPE_RECORDING_PATH_MAP", f"{PBX_MONITOR_DIR}={tmp_path / 'none'}")
    monkeypatch.setenv("CALLSCOPE_QUEUE_LOG_PATH", str(tmp_path / "queue_log"))
    get_settings.cache_clear()
    result = CliRunner().invoke(doctor, [])
    assert result.exit_code == 1
    out = result.output
    assert "FAIL ami" in out and "manager.conf" in out
    assert "FAIL recordings" in out and "CALLSCOPE_RECORDING_PATH_MAP" in out
    assert "FAIL queue_log" in out
    assert "ok   database" in out


def test_a_wrong_setting_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLSCOPE_RING_CYCLE_S", "-1")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(doctor, [])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "FAIL settings" in result.output and "CALLSCOPE_RING_CYCLE_S" in result.output


def test_the_settings_reference_in_docs_is_current() -> None:
    from core.settings import reference_markdown

    path = Path(__file__).resolve().parents[2] / "docs" / "settings.md"
    assert path.read_text(encoding="utf-8") == reference_markdown(), (
        "docs/settings.md is stale: run `callscope settings --markdown > docs/settings.md`"
    )
