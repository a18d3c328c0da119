"""Loading recordings: formats, rejection of unusable files, path mapping, legs and channels."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from tests.transcription.golden import EMPTY_RECORDINGS, GOLDEN_CALLS, RECORDINGS
from transcription.audio import (
    SAMPLE_RATE,
    CallLegs,
    find_legs,
    inspect_recording,
    load_audio,
    load_stereo_legs,
    remap_recording_path,
)
from transcription.errors import (
    AudioError,
    RecordingCorrupt,
    RecordingEmpty,
    RecordingMissing,
    TranscriptionError,
)

CALL = GOLDEN_CALLS[0]


def read_pcm(path: Path) -> np.ndarray:
    with wave.open(str(path)) as wav:
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")


def write_wav(path: Path, samples: np.ndarray, *, rate: int = 8000, channels: int = 1) -> Path:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.astype("<i2").tobytes())
    return path


def test_mixmonitor_wav_is_resampled_to_16k_float() -> None:
    info = inspect_recording(CALL.mixed)
    audio = load_audio(CALL.mixed)

    assert (info.format, info.channels, info.sample_rate) == ("wav-pcm16", 1, 8000)
    assert audio.dtype == np.float32
    assert abs(audio.shape[0] / SAMPLE_RATE - info.duration_s) < 0.05
    assert 0.01 < float(np.abs(audio).max()) <= 1.0


def test_other_formats_are_read_through_ffmpeg(tmp_path: Path) -> None:
    import av

    source = read_pcm(CALL.customer)
    flac = tmp_path / "call.flac"
    with av.open(str(flac), "w") as container:
        stream = container.add_stream("flac", rate=8000, layout="mono")
        frame = av.AudioFrame.from_ndarray(source[None, :], format="s16", layout="mono")
        frame.sample_rate = 8000
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)

    assert inspect_recording(flac).format.startswith("flac")
    np.testing.assert_allclose(load_audio(flac), load_audio(CALL.customer), atol=1e-4)


@pytest.mark.parametrize("path", EMPTY_RECORDINGS, ids=lambda p: p.name)
def test_44_byte_recording_is_an_empty_call(path: Path) -> None:
    with pytest.raises(RecordingEmpty) as caught:
        load_audio(path)

    message = str(caught.value)
    assert str(path) in message
    assert "44-byte WAV header, no audio" in message
    assert "never reached a person" in message
    assert caught.value.path == path


def test_zero_byte_file_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "x.wav"
    path.touch()

    with pytest.raises(RecordingEmpty, match="0 bytes"):
        load_audio(path)


def test_missing_recording_says_where_to_look(tmp_path: Path) -> None:
    path = tmp_path / "1795331836.1289.wav"

    with pytest.raises(RecordingMissing) as caught:
        load_audio(path)

    assert str(path) in str(caught.value)
    assert "CALLSCOPE_RECORDING_PATH_MAP" in str(caught.value)
    assert isinstance(caught.value, AudioError)
    assert isinstance(caught.value, TranscriptionError)


def test_random_bytes_named_wav_are_not_audio(tmp_path: Path) -> None:
    path = tmp_path / "noise.wav"
    path.write_bytes(np.random.default_rng(7).bytes(50_000))

    with pytest.raises(RecordingCorrupt, match="is not a WAV file"):
        load_audio(path)


def test_random_bytes_in_another_format_are_not_audio(tmp_path: Path) -> None:
    path = tmp_path / "noise.mp3"
    path.write_bytes(b"\x00garbage" * 3000)

    with pytest.raises(RecordingCorrupt, match=str(path)):
        load_audio(path)


def test_truncated_copy_is_reported_with_sizes(tmp_path: Path) -> None:
    path = tmp_path / "cut.wav"
    data = CALL.mixed.read_bytes()
    path.write_bytes(data[: len(data) // 2])

    with pytest.raises(RecordingCorrupt) as caught:
        load_audio(path)

    message = str(caught.value)
    assert "truncated" in message
    assert f"announces {len(data) - 44} bytes" in message
    assert "copy it again" in message


def test_unfinished_header_means_still_recording(tmp_path: Path) -> None:
    data = bytearray(CALL.mixed.read_bytes())
    data[40:44] = b"\x00\x00\x00\x00"  # the data size Asterisk writes when it closes the file
    path = tmp_path / "open.wav"
    path.write_bytes(bytes(data))

    with pytest.raises(RecordingCorrupt, match="still writing"):
        load_audio(path)


def test_header_without_data_chunk_is_truncated(tmp_path: Path) -> None:
    path = tmp_path / "header.wav"
    path.write_bytes(CALL.mixed.read_bytes()[:36])

    with pytest.raises(RecordingCorrupt, match="truncated"):
        load_audio(path)


def test_pbx_path_is_mapped_to_the_local_mount() -> None:
    prefixes = [
        ("/var/spool/asterisk", "/mnt/pbx/spool"),
        ("/var/spool/asterisk/monitor", "/srv/recordings"),
    ]

    assert remap_recording_path("/var/spool/asterisk/monitor/a.wav", prefixes) == Path(
        "/srv/recordings/a.wav"
    )
    assert remap_recording_path("/var/spool/asterisk/voicemail/b.wav", prefixes) == Path(
        "/mnt/pbx/spool/voicemail/b.wav"
    )
    assert remap_recording_path("/var/spool/asterisk/monitor2/c.wav", prefixes) == Path(
        "/mnt/pbx/spool/monitor2/c.wav"
    )
    assert remap_recording_path("/elsewhere/d.wav", prefixes) == Path("/elsewhere/d.wav")
    assert remap_recording_path("/var/spool/asterisk/monitor/a.wav", []) == Path(
        "/var/spool/asterisk/monitor/a.wav"
    )


def test_settings_prefix_map_finds_the_golden_recordings() -> None:
    from core.settings import Settings

    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        recording_path_map=f"/opt/asterisk/var/spool/asterisk/monitor={RECORDINGS}",
    )
    pbx_path = f"/opt/asterisk/var/spool/asterisk/monitor/{CALL.uniqueid}.wav"

    local = remap_recording_path(pbx_path, settings.recording_prefixes())

    assert local == CALL.mixed
    assert local.is_file()


def test_legs_beside_the_mixed_file_are_found(tmp_path: Path) -> None:
    assert find_legs(CALL.mixed) == CallLegs(customer=CALL.customer, agent=CALL.agent)
    lonely = tmp_path / "1.2.wav"
    lonely.write_bytes(CALL.mixed.read_bytes())
    (tmp_path / "1.2-in.wav").write_bytes(b"")
    assert find_legs(lonely) is None  # only one leg: no pair
    (tmp_path / "1.2-rx.wav").write_bytes(b"")
    (tmp_path / "1.2-tx.wav").write_bytes(b"")
    assert find_legs(lonely, customer_suffix="-rx", agent_suffix="-tx") == CallLegs(
        customer=tmp_path / "1.2-rx.wav", agent=tmp_path / "1.2-tx.wav"
    )


def make_stereo(path: Path, left: Path, right: Path) -> Path:
    """A stereo WAV whose left channel is `left` and right channel `right`."""
    a, b = read_pcm(left), read_pcm(right)
    n = min(a.size, b.size)
    return write_wav(path, np.column_stack([a[:n], b[:n]]).reshape(-1), channels=2)


def test_stereo_file_splits_into_customer_and_agent(tmp_path: Path) -> None:
    stereo = make_stereo(tmp_path / "stereo.wav", CALL.customer, CALL.agent)

    customer, agent = load_stereo_legs(stereo)
    swapped_customer, swapped_agent = load_stereo_legs(stereo, customer_channel="right")

    np.testing.assert_allclose(customer, load_audio(CALL.customer), atol=1e-4)
    np.testing.assert_allclose(agent, load_audio(CALL.agent), atol=1e-4)
    np.testing.assert_array_equal(swapped_customer, agent)
    np.testing.assert_array_equal(swapped_agent, customer)


def test_mono_file_has_no_stereo_legs() -> None:
    with pytest.raises(RecordingCorrupt, match="1 channel"):
        load_stereo_legs(CALL.mixed)
