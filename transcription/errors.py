"""Exceptions of the transcription package.

CallscopeError (core.errors)
 +-- TranscriptionError       transcription cannot go on; the message says what to do
      +-- ModelNotAvailable   the configured Whisper model cannot be found or loaded
      +-- AudioError          a recording cannot be used (carries `path`)
           +-- RecordingMissing   no file at that path
           +-- RecordingEmpty     a valid file without any audio (e.g. a 44-byte WAV)
           +-- RecordingCorrupt   truncated, damaged, or not audio at all
"""

from __future__ import annotations

from pathlib import Path

from core.errors import CallscopeError


class TranscriptionError(CallscopeError):
    """Base of every error the transcription package raises on purpose."""


class ModelNotAvailable(TranscriptionError):
    """The configured Whisper model cannot be found, downloaded or loaded."""


class AudioError(TranscriptionError):
    """A recording cannot be transcribed; `path` names it."""

    def __init__(self, path: Path | str, message: str) -> None:
        super().__init__(message)
        self.path = Path(path)


class RecordingMissing(AudioError):
    """There is no file at the recording's path."""


class RecordingEmpty(AudioError):
    """The recording is a valid file that holds no audio."""


class RecordingCorrupt(AudioError):
    """The recording is truncated, damaged, or not an audio file."""
