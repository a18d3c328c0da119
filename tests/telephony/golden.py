"""What each golden call must come out as: the truth file's script and Asterisk's own report.

Durations are the script's delays as Asterisk reported them (HoldTime/RingTime in the
capture README); compare with a one-second tolerance.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from telephony.events import AmiEvent

MONITOR = "/opt/asterisk/var/spool/asterisk/monitor"


@dataclass(frozen=True)
class Expected:
    """The facts one scripted call must produce."""

    scenario: str
    queue: str | None
    answered: bool
    agent: str | None
    ring_to_answer_s: float | None
    rings: int | None
    within_target: bool | None
    abandoned: bool
    wait_s: float
    attempts: list[tuple[str, float, str]]


EXPECTED: dict[str, list[Expected]] = {
    "answered-fast": [
        Expected(
            "answered-fast",
            "hotline",
            True,
            "Alice Kim",
            3,
            1,
            True,
            False,
            3,
            [("Alice Kim", 3, "answered")],
        ),
    ],
    "answered-9s": [
        Expected(
            "answered-9s",
            "hotline",
            True,
            "Alice Kim",
            9,
            2,
            True,
            False,
            9,
            [("Alice Kim", 9, "answered")],
        ),
    ],
    "answered-13s": [
        Expected(
            "answered-13s",
            "hotline",
            True,
            "Alice Kim",
            13,
            3,
            True,
            False,
            13,
            [("Alice Kim", 13, "answered")],
        ),
    ],
    "ring-no-answer-then-next": [
        Expected(
            "ring-no-answer-then-next",
            "hotline",
            True,
            "Bob Li",
            20,
            5,
            False,
            False,
            20,
            [("Alice Kim", 15, "no_answer"), ("Bob Li", 4, "answered")],
        ),
    ],
    "abandoned-in-queue": [
        Expected(
            "abandoned-in-queue",
            "hotline",
            False,
            None,
            None,
            None,
            None,
            True,
            7,
            [("Alice Kim", 7, "cancelled")],
        ),
    ],
    "direct-answered": [
        Expected(
            "direct-answered",
            None,
            True,
            "Chen Wei",
            6,
            2,
            True,
            False,
            6,
            [("Chen Wei", 6, "answered")],
        ),
    ],
    "ringall-fastest-wins": [
        Expected(
            "ringall-fastest-wins",
            "sales",
            True,
            "Park Jiwoo",
            2,
            1,
            True,
            False,
            2,
            [("Chen Wei", 2, "cancelled"), ("Park Jiwoo", 2, "answered")],
        ),
    ],
    "direct-unanswered": [
        Expected(
            "direct-unanswered",
            None,
            False,
            None,
            None,
            None,
            None,
            True,
            10,
            [("Park Jiwoo", 10, "cancelled")],
        ),
    ],
    "answered-1s-complaint": [
        Expected(
            "answered-1s-complaint",
            "hotline",
            True,
            "Alice Kim",
            1,
            1,
            True,
            False,
            1,
            [("Alice Kim", 1, "answered")],
        ),
    ],
    "overtalk": [
        Expected(
            "overtalk",
            "hotline",
            True,
            "Alice Kim",
            2,
            1,
            True,
            False,
            2,
            [("Alice Kim", 2, "answered")],
        ),
    ],
    "two-callers-at-once": [
        Expected(
            "two-callers-at-once",
            "hotline",
            True,
            "Alice Kim",
            2,
            1,
            True,
            False,
            2,
            [("Alice Kim", 2, "answered")],
        ),
        Expected(
            "two-callers-at-once",
            "hotline",
            True,
            "Bob Li",
            7,
            2,
            True,
            False,
            7,
            [("Bob Li", 5, "answered")],
        ),
    ],
    "ringing-forever-abandoned": [
        Expected(
            "ringing-forever-abandoned",
            "sales",
            False,
            None,
            None,
            None,
            None,
            True,
            25,
            [
                ("Chen Wei", 4, "cancelled"),
                ("Chen Wei", 20, "no_answer"),
                ("Park Jiwoo", 4, "cancelled"),
                ("Park Jiwoo", 20, "no_answer"),
            ],
        ),
    ],
}


def caller_uniqueid(linkedid: str) -> str:
    """The inbound (caller) channel of a golden call: the Local channel's ;2 half."""
    base, seq = linkedid.rsplit(".", 1)
    return f"{base}.{int(seq) + 1}"


def expected_calls(truth: dict) -> list[tuple[str, str, Expected]]:  # type: ignore[type-arg]
    """(linkedid, caller number, expectation) for every golden call."""
    out = []
    for call in truth["calls"]:
        for linkedid, caller, exp in zip(
            call["linkedids"], call["callers"], EXPECTED[call["id"]], strict=True
        ):
            out.append((linkedid, caller, exp))
    return out


def read_events(path: Path) -> list[AmiEvent]:
    """Every event of a raw AMI capture, in order (a deliberately simple reader for tests)."""
    raw = path.read_bytes().decode("utf-8")
    events = []
    for pack in raw.split("\r\n\r\n"):
        lines = pack.split("\r\n")
        if not lines[0].startswith("Event: "):
            continue
        headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        events.append(AmiEvent(lines[0][7:], headers, time.time()))
    return events


def attempts_of(rows: list[tuple[str, float | None, str]]) -> list[tuple[str, float, str]]:
    """Attempts sorted the way EXPECTED lists them."""
    return sorted((a, float(r or 0), o) for a, r, o in rows)


def assert_call_matches(
    row: dict, exp: Expected, caller: str, linkedid: str, *, recordings: bool = True
) -> None:  # type: ignore[type-arg]
    """One exported call row against its expectation (1 s tolerance on durations)."""
    where = f"{exp.scenario} ({linkedid})"
    assert row["caller_number"] == caller, where
    assert row["queue"] == exp.queue, where
    assert row["answered"] is exp.answered, where
    assert row["agent"] == exp.agent, where
    assert row["abandoned"] is exp.abandoned, where
    if exp.ring_to_answer_s is None:
        assert row["ring_to_answer_s"] is None, where
    else:
        assert abs(row["ring_to_answer_s"] - exp.ring_to_answer_s) <= 1.0, where
    assert row["rings"] == exp.rings, where
    assert row["answered_within_target"] == exp.within_target, where
    assert abs(row["wait_s"] - exp.wait_s) <= 1.0, where
    got = attempts_of([(a["agent"], a["ring_s"], a["outcome"]) for a in row["attempts"]])
    want = sorted(exp.attempts)
    assert [(a, o) for a, _, o in got] == [(a, o) for a, _, o in want], where
    for (_, ring_got, _), (_, ring_want, _) in zip(got, want, strict=True):
        assert abs(ring_got - ring_want) <= 1.0, where
    if recordings:
        uid = caller_uniqueid(linkedid)
        assert row["recording"] == {
            "mixed": f"{MONITOR}/{uid}.wav",
            "customer": f"{MONITOR}/{uid}-in.wav",
            "agent": f"{MONITOR}/{uid}-out.wav",
        }, where
