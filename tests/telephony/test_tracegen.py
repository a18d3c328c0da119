"""A hotline day made from the golden capture: blocks, placement, re-numbering, realism."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from cli.main import cli
from telephony.events import AmiEvent, is_tracked
from telephony.trace import AmiPacket, iter_packets, parse_packet, read_trace
from telephony.tracegen import DayOptions, TraceDay, find_call_blocks, make_trace_day
from telephony.tracker import CallTracker
from tests.conftest import TRACES
from tests.telephony.golden import EXPECTED

DAY = date(2026, 11, 23)


@pytest.fixture(scope="module")
def golden() -> list[AmiPacket]:
    return read_trace(TRACES / "golden.ami")


@pytest.fixture(scope="module")
def day(golden: list[AmiPacket]) -> TraceDay:
    return make_trace_day(golden, DayOptions(calls=120, seed=7, date=DAY, tz="UTC"))


@pytest.fixture(scope="module")
def day_packets(day: TraceDay) -> list[AmiPacket]:
    return [parse_packet(raw) for raw in day.events]


def test_the_capture_splits_into_the_scripted_calls(
    golden: list[AmiPacket], truth: dict[str, Any]
) -> None:
    blocks = find_call_blocks(golden)
    assert [b.scenario for b in blocks] == [c["id"] for c in truth["calls"]]
    for block, call in zip(blocks, truth["calls"], strict=True):
        assert list(block.linkedids) == call["linkedids"]
        assert [block.callers[lid] for lid in block.linkedids] == call["callers"]
        assert call["started"] - 1 < block.start_ts < block.end_ts < call["ended"] + 1
        assert set(block.recordings) == set(block.linkedids)
    owned = sorted(i for b in blocks for i in b.indices)
    assert owned == list(range(2, len(golden)))  # all but the two SuccessfulAuth before


def test_the_day_is_deterministic_by_seed(golden: list[AmiPacket], day: TraceDay) -> None:
    again = make_trace_day(golden, DayOptions(calls=120, seed=7, date=DAY, tz="UTC"))
    assert again.events == day.events and again.manifest == day.manifest
    other = make_trace_day(golden, DayOptions(calls=120, seed=8, date=DAY, tz="UTC"))
    assert other.events != day.events


def test_calls_fall_in_opening_hours_busier_in_the_morning(day: TraceDay) -> None:
    zone = ZoneInfo("UTC")
    starts = [datetime.fromtimestamp(c["started"], zone) for c in day.manifest["calls"].values()]
    assert all(s.date() == DAY and 8 <= s.hour < 20 for s in starts)
    hours = Counter(s.hour for s in starts)
    assert hours[9] + hours[10] + hours[11] > 2 * (hours[17] + hours[18] + hours[19])
    ordered = sorted(day.manifest["calls"].values(), key=lambda c: c["started"])
    assert day.manifest["blocks"] == 120 and len(ordered) >= 120
    scenarios = Counter(c["scenario"] for c in ordered)
    assert scenarios["answered-fast"] > scenarios["overtalk"]  # weights matter


def test_every_call_has_fresh_consistent_ids(
    day: TraceDay, day_packets: list[AmiPacket], golden: list[AmiPacket]
) -> None:
    calls = day.manifest["calls"]
    by_linkedid: dict[str, list[AmiPacket]] = defaultdict(list)
    linkedid_of_uid: dict[str, str] = {}
    for packet in day_packets:
        lid, uid = packet.get("Linkedid"), packet.get("Uniqueid")
        if lid:
            by_linkedid[lid].append(packet)
            if uid:
                assert linkedid_of_uid.setdefault(uid, lid) == lid  # a channel, one call
    assert set(by_linkedid) == set(calls)
    newchannels = [p for p in day_packets if p.name == "Newchannel"]
    uids = [p.get("Uniqueid") for p in newchannels]
    per_call = Counter(p.get("Linkedid") for p in golden if p.name == "Newchannel")
    expected = sum(per_call[c["original_linkedid"]] for c in calls.values())
    assert len(uids) == len(set(uids)) == expected
    assert len({p.get("Channel") for p in newchannels}) == len(newchannels)
    seqs = [int((u or "0.0").rsplit(".", 1)[1]) for u in uids]
    assert seqs == sorted(seqs)  # numbered in order of creation, like one PBX would
    for p in newchannels:  # a Uniqueid's first part is its creation second
        assert (p.get("Uniqueid") or "").split(".")[0] == str(int(p.timestamp or 0))
    bridges = [p.get("BridgeUniqueid") for p in day_packets if p.name == "BridgeCreate"]
    assert len(bridges) == len(set(bridges))
    original_ids = {p.get("Uniqueid") for p in golden} | {p.get("Linkedid") for p in golden}
    assert not original_ids & set(linkedid_of_uid)
    stream = b"".join(day.events)
    assert b"13900000000" not in stream and b"Customer 0-0" not in stream
    callers = [c["caller"] for c in calls.values()]
    assert len(callers) == len(set(callers)) and all(len(n) == 11 for n in callers)


def test_each_call_keeps_the_timing_and_shape_of_its_captured_original(
    day: TraceDay, day_packets: list[AmiPacket], golden: list[AmiPacket]
) -> None:
    originals: dict[str, list[AmiPacket]] = defaultdict(list)
    for packet in golden:
        if packet.get("Linkedid"):
            originals[packet.get("Linkedid") or ""].append(packet)
    generated: dict[str, list[AmiPacket]] = defaultdict(list)
    for packet in day_packets:
        if packet.get("Linkedid"):
            generated[packet.get("Linkedid") or ""].append(packet)
    for linkedid, call in day.manifest["calls"].items():
        new, old = generated[linkedid], originals[call["original_linkedid"]]
        assert [p.name for p in new] == [p.name for p in old]
        shift = (new[0].timestamp or 0) - (old[0].timestamp or 0)
        assert new[0].timestamp == pytest.approx(call["started"], abs=1e-6)
        for a, b in zip(new, old, strict=True):
            assert (a.timestamp or 0) - (b.timestamp or 0) == pytest.approx(shift, abs=2e-6)
            assert a.get("Variable") == b.get("Variable")
            assert a.get("Context") == b.get("Context") and a.get("Queue") == b.get("Queue")
        root = next(p for p in new if p.name == "NewCallerid" and p.get("Uniqueid") == linkedid)
        assert root.get("CallerIDNum") == call["caller"]


def test_recordings_are_named_after_the_new_inbound_channel(
    day: TraceDay, day_packets: list[AmiPacket]
) -> None:
    recorded = {
        p.get("Linkedid"): p
        for p in day_packets
        if p.name == "VarSet" and p.get("Variable") == "MIXMONITOR_FILENAME"
    }
    assert set(recorded) == set(day.manifest["calls"])
    for linkedid, call in day.manifest["calls"].items():
        varset = recorded[linkedid]
        uid = varset.get("Uniqueid") or ""
        assert (varset.get("Value") or "").endswith(f"/{uid}.wav")
        recording = call["recording"]
        assert recording["uniqueid"] == uid and recording["file"] == varset.get("Value")
        assert day.manifest["recordings"][uid] == recording["original_uniqueid"]
        assert (TRACES / "recordings" / f"{recording['original_uniqueid']}.wav").exists()
        assert Path(recording["original_file"]).name == f"{recording['original_uniqueid']}.wav"


def test_the_call_tracker_reads_the_day_as_the_scripted_calls(
    day: TraceDay, day_packets: list[AmiPacket], truth: dict[str, Any]
) -> None:
    position = {lid: n for c in truth["calls"] for n, lid in enumerate(c["linkedids"])}
    tracker = CallTracker()
    facts = {}
    for packet in day_packets:
        event = AmiEvent(packet.name, packet.as_dict(), 0.0)
        if is_tracked(event.name, event.headers):
            for done in tracker.feed(event):
                facts[done.call_id] = done
    assert set(facts) == set(day.manifest["calls"])
    for linkedid, call in day.manifest["calls"].items():
        exp = EXPECTED[call["scenario"]][position[call["original_linkedid"]]]
        got = facts[linkedid]
        assert got.caller_number == call["caller"]
        assert (got.answered, got.agent, got.abandoned) == (exp.answered, exp.agent, exp.abandoned)
        if exp.ring_to_answer_s is not None:
            assert got.ring_to_answer_s == pytest.approx(exp.ring_to_answer_s, abs=1)
        assert got.recording_mixed == call["recording"]["file"]


def test_a_large_overlapping_stream_for_benchmarks(golden: list[AmiPacket]) -> None:
    big = make_trace_day(golden, DayOptions(calls=400, seed=1, date=DAY, allow_overlap=True))
    assert len(big.events) > 50_000
    stamps = [parse_packet(raw).timestamp or 0 for raw in big.events[::97]]
    assert stamps == sorted(stamps)
    uids = [p.get("Uniqueid") for p in map(parse_packet, big.events) if p.name == "Newchannel"]
    assert len(uids) == len(set(uids))


def test_make_trace_day_command_writes_a_replayable_trace(tmp_path: Path) -> None:
    out, manifest = tmp_path / "day.ami", tmp_path / "day.json"
    result = CliRunner().invoke(
        cli,
        [
            "make-trace-day",
            "--trace",
            str(TRACES / "golden.ami"),
            "--out",
            str(out),
            "--manifest",
            str(manifest),
            "--calls",
            "20",
            "--seed",
            "3",
            "--date",
            "2026-12-01",
            "--tz",
            "Asia/Shanghai",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(manifest.read_text())
    assert data["date"] == "2026-12-01" and data["tz"] == "Asia/Shanghai"
    events = read_trace(out)
    assert len(events) == data["events"]
    assert next(iter_packets(out.read_bytes())).get("Message") == "Authentication accepted"
    first = min(c["started_at"] for c in data["calls"].values())
    assert first.startswith("2026-12-01T") and first.endswith("+08:00")
    bad = CliRunner().invoke(
        cli,
        ["make-trace-day", "--trace", str(TRACES / "golden.ami"), "--out", str(out)]
        + ["--manifest", str(manifest), "--date", "23/11/2026"],
    )
    assert bad.exit_code != 0 and "not a date" in bad.output
