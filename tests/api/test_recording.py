"""Playing recordings: found by call id only, whole or by byte range, audited per play."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from api.app import create_app
from api.errors import RangeNotSatisfiable
from api.models import AuditEntry
from api.recordings import parse_range
from core.db import session_scope
from telephony.models import Call
from tests.api.conftest import SCENARIOS, Api, recording_file

CALL = SCENARIOS["answered-1s-complaint"]
URL = f"/api/v1/calls/{CALL}/recording"
DATA = recording_file(CALL).read_bytes()
SIZE = len(DATA)


def plays(api: Api) -> list[AuditEntry]:
    with session_scope(api.session_factory) as session:
        return list(
            session.scalars(select(AuditEntry).where(AuditEntry.action == "recording.play"))
        )


def test_the_whole_file_with_range_support_announced(api: Api) -> None:
    reply = api.get("alice", URL)
    assert reply.status_code == 200
    assert reply.content == DATA
    assert reply.headers["content-type"] == "audio/wav"
    assert reply.headers["accept-ranges"] == "bytes"
    assert reply.headers["content-length"] == str(SIZE)
    assert "content-range" not in reply.headers
    assert reply.content[:4] == b"RIFF" and reply.content[8:12] == b"WAVE"


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=44-44", 44, 44),
        ("bytes=1000-", 1000, SIZE - 1),  # open-ended
        ("bytes=-500", SIZE - 500, SIZE - 1),  # the last 500 bytes
        (f"bytes=-{SIZE * 2}", 0, SIZE - 1),  # a suffix longer than the file: all of it
        (f"bytes=100-{SIZE + 5000}", 100, SIZE - 1),  # an end past the file is clipped
    ],
)
def test_ranges_give_206_with_exactly_those_bytes(
    api: Api, header: str, start: int, end: int
) -> None:
    reply = api.get("alice", URL, headers={"Range": header})
    assert reply.status_code == 206
    assert reply.content == DATA[start : end + 1]
    assert reply.headers["content-range"] == f"bytes {start}-{end}/{SIZE}"
    assert reply.headers["content-length"] == str(end - start + 1)
    assert reply.headers["content-type"] == "audio/wav"


@pytest.mark.parametrize(
    "header",
    [
        f"bytes={SIZE}-",  # starts at the end
        f"bytes={SIZE + 10}-{SIZE + 20}",
        "bytes=500-100",  # ends before it starts
        "bytes=-0",
        "bytes=-",
        "bytes=abc-def",
        "items=0-10",
        "bytes=0-10junk",
    ],
)
def test_bad_or_unsatisfiable_ranges_are_416(api: Api, header: str) -> None:
    reply = api.get("alice", URL, headers={"Range": header})
    assert reply.status_code == 416, header
    assert reply.headers["content-range"] == f"bytes */{SIZE}"
    assert reply.json()["detail"]


def test_several_ranges_get_the_whole_file(api: Api) -> None:
    reply = api.get("alice", URL, headers={"Range": "bytes=0-9,20-29"})
    assert reply.status_code == 200 and reply.content == DATA


@pytest.mark.parametrize("leg", ["customer", "agent"])
def test_each_leg_is_its_own_file(api: Api, leg: str) -> None:
    reply = api.get("alice", URL, params={"leg": leg})
    assert reply.status_code == 200
    assert reply.content == recording_file(CALL, leg).read_bytes()
    assert reply.content != DATA
    assert f'filename="{CALL}-{leg}.wav"' in reply.headers["content-disposition"]


def test_an_unknown_leg_is_422(api: Api) -> None:
    reply = api.get("alice", URL, params={"leg": "../../etc/passwd"})
    assert reply.status_code == 422


def test_a_play_is_audited_but_seeking_is_not(api: Api) -> None:
    api.get("alice", URL, headers={"User-Agent": "console-test"})
    api.get("alice", URL, headers={"Range": "bytes=0-"})  # a browser starting playback
    api.get("alice", URL, headers={"Range": "bytes=50000-"})  # seeking within the same play
    api.get("alice", URL, headers={"Range": "bytes=-100"})
    entries = plays(api)
    assert len(entries) == 2
    first = entries[0]
    assert first.username == "alice" and first.user_id == api.user_ids["alice"]
    assert first.object_type == "call" and first.object_id == CALL
    assert first.detail == {"leg": "mixed", "range": None}
    assert first.user_agent == "console-test" and first.ip
    assert entries[1].detail["range"] == "bytes=0-"


def test_refused_plays_are_not_audited(api: Api) -> None:
    assert api.get("bob", URL).status_code == 404
    assert api.get("alice", URL, headers={"Range": "bytes=-0"}).status_code == 416
    assert plays(api) == []


def test_a_missing_file_is_a_clear_404(api: Api) -> None:
    moved = api.settings.model_copy(update={"recording_path_map": "/opt/asterisk=/nonexistent"})
    with TestClient(create_app(moved)) as client:
        reply = client.get(URL, headers=api.as_("manager"))
    assert reply.status_code == 404
    detail = reply.json()["detail"]
    assert "1795332025.1325.wav" in detail and "CALLSCOPE_RECORDING_PATH_MAP" in detail
    assert "/nonexistent" not in detail  # where this server mounts files is not told


def test_a_call_without_recording_is_404(api: Api) -> None:
    with session_scope(api.session_factory) as session:
        session.execute(update(Call).where(Call.call_id == CALL).values(recording_agent=None))
    reply = api.get("manager", URL, params={"leg": "agent"})
    assert reply.status_code == 404
    assert reply.json()["detail"] == f"call {CALL} has no agent recording"


def test_the_path_comes_from_the_call_never_from_the_client(api: Api) -> None:
    # the only inputs are the call id (looked up) and the leg (an enum); a path as call id
    # is simply an unknown call
    reply = api.get("manager", "/api/v1/calls/..%2F..%2Fetc%2Fpasswd/recording")
    assert reply.status_code == 404


def test_parse_range_unit() -> None:
    assert parse_range(None, 10) is None
    assert parse_range("bytes=2-4", 10) == parse_range("BYTES = 2 - 4", 10)
    whole = parse_range("bytes=0-", 10)
    assert whole is not None and (whole.start, whole.end, whole.length) == (0, 9, 10)
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=0-0", 0)  # nothing can be served from an empty file
