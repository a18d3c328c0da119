"""The call tracker on the real Asterisk 22 capture, and on the edge cases it must survive."""

from __future__ import annotations

import time
from typing import Any

import pytest

from core.settings import Settings
from telephony.events import AmiEvent, is_tracked
from telephony.rings import rings_for, within_target
from telephony.tracker import CallFacts, CallTracker, interface_of
from tests.conftest import TRACES
from tests.telephony.golden import assert_call_matches, expected_calls, read_events


def run(events: list[AmiEvent], tracker: CallTracker | None = None) -> list[CallFacts]:
    tracker = tracker or CallTracker()
    done: list[CallFacts] = []
    for event in events:
        if is_tracked(event.name, event.headers):
            done.extend(tracker.feed(event))
    return done


def as_row(facts: CallFacts, settings: Settings) -> dict[str, Any]:
    """The tracker's facts in export shape (rings computed as the service does)."""
    from telephony.service import recording_legs

    rings = within = None
    if facts.answered and facts.ring_to_answer_s is not None:
        rings = rings_for(facts.ring_to_answer_s, settings.ring_cycle_s)
        within = within_target(
            facts.ring_to_answer_s, settings.ring_cycle_s, settings.answer_target_rings
        )
    customer, agent = recording_legs(facts.recording_mixed, settings)
    return {
        "caller_number": facts.caller_number,
        "queue": facts.queue,
        "answered": facts.answered,
        "agent": facts.agent,
        "abandoned": facts.abandoned,
        "ring_to_answer_s": facts.ring_to_answer_s,
        "rings": rings,
        "answered_within_target": within,
        "wait_s": facts.wait_s,
        "attempts": [
            {"agent": a.agent, "ring_s": a.ring_s, "outcome": a.outcome} for a in facts.attempts
        ],
        "recording": {"mixed": facts.recording_mixed, "customer": customer, "agent": agent},
    }


@pytest.fixture(scope="module")
def golden_events() -> list[AmiEvent]:
    return read_events(TRACES / "golden.ami")


def test_every_golden_call_matches_the_truth(golden_events: list[AmiEvent], truth: Any) -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    facts = {f.call_id: f for f in run(golden_events)}
    expected = expected_calls(truth)
    assert sorted(facts) == sorted(linkedid for linkedid, _, _ in expected)
    for linkedid, caller, exp in expected:
        assert_call_matches(as_row(facts[linkedid], settings), exp, caller, linkedid)
        assert facts[linkedid].complete
        assert facts[linkedid].uniqueid == f"{linkedid.rsplit('.', 1)[0]}." + str(
            int(linkedid.rsplit(".", 1)[1]) + 1
        )


def test_talk_time_runs_from_answer_to_hang_up(golden_events: list[AmiEvent]) -> None:
    facts = {f.call_id: f for f in run(golden_events)}
    # answered-fast: Alice answers at 3 s, the customer hangs up ~15 s later (queue_log: 15)
    assert facts["1795331836.1288"].talk_s == pytest.approx(15, abs=1)
    # overtalk: short call, queue_log COMPLETECALLER says 9 s
    assert facts["1795332048.1328"].talk_s == pytest.approx(9, abs=1)
    assert facts["1795331957.1306"].talk_s is None  # abandoned


def test_event_timestamp_wins_over_receive_time(golden_events: list[AmiEvent]) -> None:
    # replayed late and all at once: receive times are useless, the Timestamp header is not
    late = [AmiEvent(e.name, e.headers, 2_000_000_000.0) for e in golden_events]
    facts = {f.call_id: f for f in run(late)}
    assert facts["1795331884.1296"].ring_to_answer_s == pytest.approx(13, abs=1)


def test_receive_time_is_used_when_timestamp_is_missing(golden_events: list[AmiEvent]) -> None:
    stripped = []
    for event in golden_events:
        headers = dict(event.headers)
        ts = float(headers.pop("Timestamp", "0") or 0)
        stripped.append(AmiEvent(event.name, headers, ts + 5.0))
    facts = {f.call_id: f for f in run(stripped)}
    assert facts["1795331857.1292"].ring_to_answer_s == pytest.approx(9, abs=1)


def test_call_whose_start_was_missed_is_kept_but_marked_incomplete(
    golden_events: list[AmiEvent],
) -> None:
    # connector starts while "ring-no-answer-then-next" is already ringing Alice
    start = next(
        i
        for i, e in enumerate(golden_events)
        if e.name == "AgentRingNoAnswer" and e.headers.get("Linkedid") == "1795331915.1300"
    )
    facts = {f.call_id: f for f in run(golden_events[start:])}
    call = facts["1795331915.1300"]
    assert not call.complete
    assert call.answered and call.agent == "Bob Li"
    # its hold time is recovered from AgentConnect's HoldTime
    assert call.ring_to_answer_s == pytest.approx(20, abs=1)
    # later calls are whole
    assert facts["1795331957.1306"].complete


def test_malformed_and_unknown_events_are_skipped() -> None:
    tracker = CallTracker()
    now = time.time()
    # an AgentCalled without DestUniqueid is malformed: logged and skipped
    bad = AmiEvent("AgentCalled", {"Linkedid": "1.1", "Uniqueid": "1.2"}, now)
    assert tracker.feed(bad) == []
    assert tracker.feed(AmiEvent("SomethingNew", {"Linkedid": "1.1"}, now)) == []
    assert tracker.feed(AmiEvent("Hangup", {}, now)) == []  # no channel at all


def test_resync_finishes_calls_that_ended_while_disconnected(
    golden_events: list[AmiEvent],
) -> None:
    tracker = CallTracker()
    # stop in the middle of "answered-9s", after it was answered
    cut = next(
        i
        for i, e in enumerate(golden_events)
        if e.name == "AgentConnect" and e.headers.get("Linkedid") == "1795331857.1292"
    )
    run(golden_events[: cut + 1], tracker)
    assert tracker.calls_in_flight == 1
    # reconnect: Asterisk lists no channels any more, so the call ended meanwhile
    finished = tracker.feed(AmiEvent("CoreShowChannelsComplete", {"ListItems": "0"}, time.time()))
    assert [f.call_id for f in finished] == ["1795331857.1292"]
    assert finished[0].answered and finished[0].agent == "Alice Kim"
    assert not finished[0].complete
    assert tracker.calls_in_flight == 0


def test_resync_keeps_calls_still_alive(golden_events: list[AmiEvent]) -> None:
    tracker = CallTracker()
    cut = next(
        i
        for i, e in enumerate(golden_events)
        if e.name == "AgentConnect" and e.headers.get("Linkedid") == "1795331857.1292"
    )
    run(golden_events[: cut + 1], tracker)
    alive = AmiEvent(
        "CoreShowChannel",
        {
            "Channel": "Local/hotline@inbound-00000286;2",
            "Uniqueid": "1795331857.1293",
            "Linkedid": "1795331857.1292",
        },
        time.time(),
    )
    tracker.feed(alive)
    finished = tracker.feed(AmiEvent("CoreShowChannelsComplete", {}, time.time()))
    assert finished == []
    assert tracker.calls_in_flight == 1


def test_interfaces_are_normalised() -> None:
    assert interface_of("Local/agent3@agents-00000290;1") == "Local/agent3@agents"
    assert interface_of("Local/agent3@agents/n") == "Local/agent3@agents"
    assert interface_of("PJSIP/1001-0000001a") == "PJSIP/1001"
    assert interface_of("SIP/trunk-00a1b2") == "SIP/trunk"


def test_outbound_call_from_a_known_agent_phone() -> None:
    tracker = CallTracker(agent_names={"PJSIP/1001": "Alice Kim"})
    t = 1_800_000_000.0
    link = "1800000000.1"
    events = [
        AmiEvent(
            "Newchannel",
            {
                "Channel": "PJSIP/1001-00000001",
                "Uniqueid": link,
                "Linkedid": link,
                "CallerIDNum": "1001",
                "Exten": "13900000000",
                "Timestamp": str(t),
            },
            t,
        ),
        AmiEvent(
            "DialBegin",
            {
                "Channel": "PJSIP/1001-00000001",
                "Uniqueid": link,
                "Linkedid": link,
                "DestChannel": "PJSIP/trunk-00000002",
                "DestUniqueid": "1800000000.2",
                "DestCallerIDNum": "13900000000",
                "Timestamp": str(t + 0.1),
            },
            t,
        ),
        AmiEvent(
            "Newchannel",
            {
                "Channel": "PJSIP/trunk-00000002",
                "Uniqueid": "1800000000.2",
                "Linkedid": link,
                "Timestamp": str(t + 0.1),
            },
            t,
        ),
        AmiEvent(
            "DialEnd",
            {
                "Channel": "PJSIP/1001-00000001",
                "Uniqueid": link,
                "Linkedid": link,
                "DestUniqueid": "1800000000.2",
                "DialStatus": "ANSWER",
                "Timestamp": str(t + 8),
            },
            t,
        ),
        AmiEvent(
            "Hangup",
            {
                "Channel": "PJSIP/trunk-00000002",
                "Uniqueid": "1800000000.2",
                "Linkedid": link,
                "Timestamp": str(t + 60),
            },
            t,
        ),
        AmiEvent(
            "Hangup",
            {
                "Channel": "PJSIP/1001-00000001",
                "Uniqueid": link,
                "Linkedid": link,
                "Timestamp": str(t + 60),
            },
            t,
        ),
    ]
    done = run(events, tracker)
    assert len(done) == 1
    call = done[0]
    assert call.direction == "outbound"
    assert call.dialed_number == "13900000000"
    assert call.attempts == []


@pytest.mark.parametrize(
    ("seconds", "cycle", "rings", "within"),
    [
        (0.0, 5.0, 1, True),
        (4.99, 5.0, 1, True),
        (5.0, 5.0, 2, True),
        (14.99, 5.0, 3, True),
        (15.0, 5.0, 4, False),
        (8.9, 3.0, 3, True),
        (9.0, 3.0, 4, False),
        (17.9, 6.0, 3, True),
    ],
)
def test_ring_arithmetic(seconds: float, cycle: float, rings: int, within: bool) -> None:
    assert rings_for(seconds, cycle) == rings
    assert within_target(seconds, cycle, 3) is within
