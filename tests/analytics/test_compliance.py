"""Compliance figures on the golden capture, counted by hand from its truth, on both databases.

The golden calls (capture README, `golden.truth.json`), with Asterisk's own hold times and the
default target of 3 rings x 5 s = 15 s (answered within target = answered before 15 s):

    queue    scenario                   outcome                         within 15 s?
    hotline  answered-fast              Alice answers after 3 s         yes (ring 1)
    hotline  answered-9s                Alice after 9 s                 yes (ring 2)
    hotline  answered-13s               Alice after 13 s                yes (ring 3)
    hotline  ring-no-answer-then-next   Bob after 20 s                  no  (ring 5)
    hotline  abandoned-in-queue         caller gives up after 7 s       abandoned within target
    -        direct-answered            Chen after 6 s                  yes
    sales    ringall-fastest-wins       Park after 2 s                  yes
    -        direct-unanswered          caller gives up after 10 s      abandoned within target
    hotline  answered-1s-complaint      Alice after 1 s                 yes
    hotline  overtalk                   Alice after 2 s                 yes
    hotline  two-callers-at-once (x2)   Alice after 2 s, Bob after 7 s  yes, yes
    sales    ringing-forever-abandoned  caller gives up after 25 s      abandoned after target

Durations carry Asterisk's sub-second jitter: seconds are compared with 1 s per call.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from analytics.compliance import (
    ROW_FIELDS,
    ComplianceReport,
    ComplianceRow,
    compliance_report,
    utc_offsets,
    zone_for,
)
from cli.main import cli as callscope
from core.db import session_scope
from core.settings import Settings
from telephony.connector import EventWriter
from telephony.models import Call, Queue
from tests.conftest import TRACES
from tests.telephony.golden import read_events

DAY = "2026-11-22"  # every golden call started on Sunday 2026-11-22, 07:17-07:22 UTC


@pytest.fixture
def golden(settings: Settings, session_factory: sessionmaker[Session]) -> None:
    """The 13 golden calls, written the way the live connector writes them."""
    writer = EventWriter(session_factory, settings)
    writer.start()
    for event in read_events(TRACES / "golden.ami"):
        writer.put(event)
    writer.stop()
    assert writer.stats.calls_written == 13


def run(
    session_factory: sessionmaker[Session], settings: Settings, **options: Any
) -> ComplianceReport:
    with session_scope(session_factory) as session:
        return compliance_report(db_session=session, settings=settings, **options)


def rows_by_group(
    session_factory: sessionmaker[Session], settings: Settings, **options: Any
) -> dict[str | None, ComplianceRow]:
    report = run(session_factory, settings, **options)
    rows = {row.group: row for row in report.rows}
    assert len(rows) == len(report.rows), "a group appears twice"
    return rows


def assert_figures(row: ComplianceRow, calls: int, **want: Any) -> None:
    """Counts and fractions exactly; seconds within 1 s per call summed into them."""
    for name, value in want.items():
        got = getattr(row, name)
        if name in ("asa_s", "max_wait_s"):
            assert got == pytest.approx(value, abs=1.0), (row.group, name)
        elif name == "talk_s":
            assert got == pytest.approx(value, abs=1.0 * calls), (row.group, name)
        elif isinstance(value, float):
            assert got == pytest.approx(value), (row.group, name)
        else:
            assert got == value, (row.group, name)


def queue_log_talk(by: str) -> dict[str, list[int]]:
    """Talk seconds Asterisk logged per queue (field 2) or agent (field 3): COMPLETE* calltime."""
    field = {"queue": 2, "agent": 3}[by]
    talk: dict[str, list[int]] = {}
    for line in (TRACES / "golden.queue_log").read_text().splitlines():
        parts = line.split("|")
        if parts[4] in ("COMPLETECALLER", "COMPLETEAGENT"):
            talk.setdefault(parts[field], []).append(int(parts[6]))
    return talk


def offered_in(truth: Any, exten: str) -> int:
    return sum(len(call["linkedids"]) for call in truth["calls"] if call["exten"] == exten)


# --- by queue ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("golden")
def test_per_queue_figures_match_the_hand_count(
    settings: Settings, session_factory: sessionmaker[Session], truth: Any
) -> None:
    rows = rows_by_group(session_factory, settings, by="queue")
    assert list(rows) == ["hotline", "sales", None]  # named queues in order, direct calls last
    talk = queue_log_talk("queue")

    # hotline: 9 offered; 8 answered (3, 9, 13, 20, 1, 2, 2, 7 s); 1 abandoned at 7 s.
    # Within 15 s: all answered but the 20 s one -> 7. The 7 s abandon is within target and not
    # short (5 s). SL answered 7/8; inclusive 7/(8 + 1 - 0) = 7/9; abandon rate 1/9.
    assert offered_in(truth, "hotline") == 9
    assert_figures(
        rows["hotline"],
        9,
        offered=9,
        answered=8,
        abandoned=1,
        short_abandoned=0,
        answered_within_target=7,
        abandoned_within_target=1,
        sl_answered=7 / 8,
        sl_inclusive=7 / 9,
        asa_s=(3 + 9 + 13 + 20 + 1 + 2 + 2 + 7) / 8,
        max_wait_s=20,
        abandon_rate=1 / 9,
        talk_s=sum(talk["hotline"]),
    )
    assert len(talk["hotline"]) == 8

    # sales: Park answers after 2 s (within); the other caller gives up after 25 s, after the
    # 15 s target. SL answered 1/1, inclusive 1/2, abandon rate 1/2, longest wait 25 s.
    assert offered_in(truth, "sales") == 2
    assert_figures(
        rows["sales"],
        2,
        offered=2,
        answered=1,
        abandoned=1,
        short_abandoned=0,
        answered_within_target=1,
        abandoned_within_target=0,
        sl_answered=1.0,
        sl_inclusive=1 / 2,
        asa_s=2,
        max_wait_s=25,
        abandon_rate=1 / 2,
        talk_s=sum(talk["sales"]),
    )

    # direct calls (no queue, default policy): Chen after 6 s (within); Park's phone is given up
    # on after 10 s: abandoned within target.
    assert offered_in(truth, "direct") == 2
    assert_figures(
        rows[None],
        2,
        offered=2,
        answered=1,
        abandoned=1,
        short_abandoned=0,
        answered_within_target=1,
        abandoned_within_target=1,
        sl_answered=1.0,
        sl_inclusive=1 / 2,
        asa_s=6,
        max_wait_s=10,
        abandon_rate=1 / 2,
    )


@pytest.mark.usefixtures("golden")
def test_report_states_the_settings_it_used(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    report = run(session_factory, settings, by="agent")
    used = report.settings
    assert (used.ring_cycle_s, used.answer_target_rings) == (5.0, 3)
    assert (used.short_abandon_s, used.tz, used.by) == (5.0, "UTC", "agent")
    assert (used.since, used.until, used.queue) == (None, None, None)
    other = settings.model_copy(update={"ring_cycle_s": 4.0, "answer_target_rings": 2})
    # an 8 s target: hotline 3, 1, 2, 2 and 7 s answers are within (9, 13 and 20 s are not);
    # sales 2 s and direct 6 s are within; the 7 s hotline abandon is within, the 10 s one not
    rows = rows_by_group(session_factory, other, by="queue")
    assert_figures(rows["hotline"], 9, answered_within_target=5, abandoned_within_target=1)
    assert_figures(rows["sales"], 2, answered_within_target=1, abandoned_within_target=0)
    assert_figures(rows[None], 2, answered_within_target=1, abandoned_within_target=0)
    used = run(session_factory, other).settings
    assert (used.ring_cycle_s, used.answer_target_rings) == (4.0, 2)


# --- by agent ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("golden")
def test_per_agent_rows_are_the_answering_agents_and_add_up(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    rows = rows_by_group(session_factory, settings, by="agent")
    assert list(rows) == ["Alice Kim", "Bob Li", "Chen Wei", "Park Jiwoo", None]
    talk = queue_log_talk("agent")
    # Alice: 3, 9, 13, 1, 2, 2 s, all within 15 s. Offered = answered: a per-agent row counts
    # the calls that agent answered (Alice also rang unanswered twice; those are not hers).
    assert_figures(
        rows["Alice Kim"],
        6,
        offered=6,
        answered=6,
        abandoned=0,
        answered_within_target=6,
        sl_answered=1.0,
        sl_inclusive=1.0,
        asa_s=(3 + 9 + 13 + 1 + 2 + 2) / 6,
        max_wait_s=13,
        abandon_rate=0.0,
        talk_s=sum(talk["Alice Kim"]),
    )
    # Bob: 20 s (ring 5, missed) and 7 s (within): SL 1/2
    assert_figures(
        rows["Bob Li"],
        2,
        offered=2,
        answered=2,
        answered_within_target=1,
        sl_answered=1 / 2,
        sl_inclusive=1 / 2,
        asa_s=(20 + 7) / 2,
        max_wait_s=20,
        talk_s=sum(talk["Bob Li"]),
    )
    assert_figures(rows["Chen Wei"], 1, offered=1, answered=1, answered_within_target=1, asa_s=6)
    assert_figures(
        rows["Park Jiwoo"],
        1,
        offered=1,
        answered=1,
        answered_within_target=1,
        asa_s=2,
        talk_s=sum(talk["Park Jiwoo"]),
    )
    # nobody answered: the 7 s, 10 s and 25 s abandons; 7 and 10 s are within the 15 s target.
    # SL answered has no denominator; inclusive is 0/3.
    assert_figures(
        rows[None],
        3,
        offered=3,
        answered=0,
        abandoned=3,
        short_abandoned=0,
        answered_within_target=0,
        abandoned_within_target=2,
        sl_answered=None,
        sl_inclusive=0.0,
        asa_s=None,
        max_wait_s=25,
        abandon_rate=1.0,
        talk_s=0.0,
    )
    assert sum(row.offered for row in rows.values()) == 13
    assert sum(row.answered for row in rows.values()) == 10


# --- by time -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("golden")
@pytest.mark.parametrize(
    ("by", "label"), [("day", DAY), ("hour", f"{DAY}T07:00"), ("week", "2026-11-16")]
)
def test_per_day_hour_and_week_in_utc(
    settings: Settings, session_factory: sessionmaker[Session], by: str, label: str
) -> None:
    rows = rows_by_group(session_factory, settings, by=by)
    assert list(rows) == [label]  # 2026-11-22 is a Sunday: its week starts Monday 11-16
    # all 13 calls: 10 answered, 9 of them within 15 s (all but Bob's 20 s); 3 abandoned
    # (7, 10, 25 s), 2 of them within 15 s. Inclusive SL 9/13; abandon rate 3/13.
    assert_figures(
        rows[label],
        13,
        offered=13,
        answered=10,
        abandoned=3,
        short_abandoned=0,
        answered_within_target=9,
        abandoned_within_target=2,
        sl_answered=9 / 10,
        sl_inclusive=9 / 13,
        asa_s=(3 + 9 + 13 + 20 + 6 + 2 + 1 + 2 + 2 + 7) / 10,
        max_wait_s=25,
        abandon_rate=3 / 13,
    )


@pytest.mark.usefixtures("golden")
@pytest.mark.parametrize(
    ("tz", "by", "label"),
    [
        ("America/Los_Angeles", "day", "2026-11-21"),  # 07:17 UTC = 23:17 PST the day before
        ("America/Los_Angeles", "hour", "2026-11-21T23:00"),
        ("Asia/Shanghai", "hour", f"{DAY}T15:00"),
        ("Asia/Kolkata", "hour", f"{DAY}T12:00"),  # +05:30: 07:17-07:21 UTC = 12:47-12:51
        ("Asia/Shanghai", "week", "2026-11-16"),
    ],
)
def test_buckets_in_the_hotline_time_zone(
    settings: Settings, session_factory: sessionmaker[Session], tz: str, by: str, label: str
) -> None:
    report = run(session_factory, settings, by=by, tz=tz)
    assert report.settings.tz == tz
    assert [(row.group, row.offered, row.answered_within_target) for row in report.rows] == [
        (label, 13, 9)
    ]


def add_call(session: Session, started_at: datetime, *, direction: str = "inbound") -> None:
    """One answered direct call (3 s to answer) starting at a chosen moment."""
    stamp = f"{direction}-{started_at.timestamp():.6f}"
    session.add(
        Call(
            call_id=f"t-{stamp}",
            uniqueid=f"u-{stamp}",
            source="ami",
            started_at=started_at,
            direction=direction,
            answered=True,
            ring_to_answer_s=3.0,
            wait_s=3.0,
            talk_s=60.0,
            abandoned=False,
        )
    )


def test_buckets_follow_daylight_saving_and_local_weeks(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    moments = [
        datetime(2026, 3, 8, 9, 30, tzinfo=UTC),  # Los Angeles 01:30 PST
        datetime(2026, 3, 8, 10, 30, tzinfo=UTC),  # 03:30 PDT: clocks jumped 02:00 -> 03:00
        datetime(2026, 11, 1, 8, 30, tzinfo=UTC),  # 01:30 PDT
        datetime(2026, 11, 1, 9, 30, tzinfo=UTC),  # 01:30 PST again: the repeated hour
        datetime(2026, 11, 22, 23, 30, tzinfo=UTC),  # Sunday in UTC, Monday 07:30 in Shanghai
    ]
    with session_scope(session_factory) as session:
        for moment in moments:
            add_call(session, moment)
        add_call(session, moments[0], direction="outbound")  # never counted
    la = rows_by_group(session_factory, settings, by="hour", tz="America/Los_Angeles")
    assert {group: row.offered for group, row in la.items()} == {
        "2026-03-08T01:00": 1,
        "2026-03-08T03:00": 1,
        "2026-11-01T01:00": 2,
        "2026-11-22T15:00": 1,
    }
    # a range inside one offset, and one that starts before and ends after both changes
    summer = rows_by_group(
        session_factory,
        settings,
        by="hour",
        tz="America/Los_Angeles",
        since=datetime(2026, 3, 8, 10, tzinfo=UTC),
        until=datetime(2026, 11, 1, 9, tzinfo=UTC),
    )
    assert {g: r.offered for g, r in summer.items()} == {
        "2026-03-08T03:00": 1,
        "2026-11-01T01:00": 1,
    }
    weeks_utc = rows_by_group(session_factory, settings, by="week")
    weeks_shanghai = rows_by_group(session_factory, settings, by="week", tz="Asia/Shanghai")
    assert weeks_utc["2026-11-16"].offered == 1
    assert "2026-11-23" not in weeks_utc
    assert weeks_shanghai["2026-11-23"].offered == 1
    assert "2026-11-16" not in weeks_shanghai
    assert weeks_utc["2026-03-02"].offered == 2  # Sunday 2026-03-08 belongs to Monday 03-02
    assert sum(r.offered for r in weeks_utc.values()) == 5


def test_utc_offsets_find_each_change_to_the_second() -> None:
    zone = zone_for("America/Los_Angeles")
    pieces = utc_offsets(
        zone, datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)
    )
    assert pieces == [
        (datetime(2026, 3, 8, 10, tzinfo=UTC), -8 * 3600),
        (datetime(2026, 11, 1, 9, tzinfo=UTC), -7 * 3600),
        (None, -8 * 3600),
    ]
    shanghai = zone_for("Asia/Shanghai")
    assert utc_offsets(shanghai, datetime(2020, 1, 1, tzinfo=UTC), datetime.now(UTC)) == [
        (None, 8 * 3600)
    ]
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        zone_for("Mars/Olympus")


# --- targets, short abandons, ranges -----------------------------------------------------------


@pytest.mark.usefixtures("golden")
def test_queue_override_moves_the_target_of_past_calls(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    with session_scope(session_factory) as session:
        session.execute(update(Queue).where(Queue.name == "hotline").values(answer_target_rings=5))
        session.execute(update(Queue).where(Queue.name == "sales").values(ring_cycle_s=0.5))
    rows = rows_by_group(session_factory, settings, by="queue")
    # hotline target 5 x 5 s = 25 s: Bob's 20 s answer (ring 5) is now within -> 8 of 8
    assert_figures(
        rows["hotline"],
        9,
        answered_within_target=8,
        abandoned_within_target=1,
        sl_answered=1.0,
        sl_inclusive=8 / 9,
    )
    # sales target 3 x 0.5 s = 1.5 s: Park's 2 s answer is now a miss
    assert_figures(rows["sales"], 2, answered_within_target=0, sl_answered=0.0, sl_inclusive=0.0)
    # direct calls keep the settings' 15 s
    assert_figures(rows[None], 2, answered_within_target=1, abandoned_within_target=1)
    with session_scope(session_factory) as session:  # the stored per-call flag is left alone
        bob = session.scalar(select(Call).where(Call.ring_to_answer_s > 19))
        assert bob is not None and bob.answered_within_target is False


@pytest.mark.usefixtures("golden")
def test_short_abandons_are_counted_apart_and_left_out_of_rates(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    rows = rows_by_group(session_factory, settings, by="queue", short_abandon_s=8.0)
    # the 7 s hotline abandon is now short: inclusive SL 7/(8 + 1 - 1) = 7/8; abandon rate
    # (1 - 1)/(9 - 1) = 0. It still counts as offered and abandoned.
    assert_figures(
        rows["hotline"],
        9,
        offered=9,
        abandoned=1,
        short_abandoned=1,
        sl_answered=7 / 8,
        sl_inclusive=7 / 8,
        abandon_rate=0.0,
    )
    # 10 s and 25 s abandons are not short at 8 s
    assert_figures(rows[None], 2, short_abandoned=0, sl_inclusive=1 / 2, abandon_rate=1 / 2)
    assert_figures(rows["sales"], 2, short_abandoned=0, abandon_rate=1 / 2)
    # at 30 s every abandon is short: the unanswered group has nothing left to rate
    nobody = rows_by_group(session_factory, settings, by="agent", short_abandon_s=30.0)[None]
    assert_figures(
        nobody, 3, offered=3, abandoned=3, short_abandoned=3, sl_inclusive=None, abandon_rate=None
    )
    report = run(session_factory, settings, short_abandon_s=8.0)
    assert report.settings.short_abandon_s == 8.0


@pytest.mark.usefixtures("golden")
def test_date_range_includes_since_and_excludes_until(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    with session_scope(session_factory) as session:
        abandon = session.scalar(select(Call.started_at).where(Call.abandoned, Call.wait_s < 8))
    assert abandon is not None  # abandoned-in-queue, the 5th call
    before = rows_by_group(session_factory, settings, until=abandon)
    # answered-fast, -9s, -13s, ring-no-answer-then-next: 4 hotline calls, 3 within target
    assert list(before) == ["hotline"]
    assert_figures(
        before["hotline"], 4, offered=4, answered=4, abandoned=0, answered_within_target=3
    )
    after = rows_by_group(session_factory, settings, since=abandon)
    # from the abandon on: hotline abandon + 1s + overtalk + two callers; both sales; both direct
    assert_figures(
        after["hotline"], 5, offered=5, answered=4, abandoned=1, answered_within_target=4
    )
    assert after["sales"].offered == 2 and after[None].offered == 2
    window = rows_by_group(
        session_factory, settings, since=abandon, until=abandon + timedelta(microseconds=1)
    )
    assert [(g, r.offered, r.abandoned) for g, r in window.items()] == [("hotline", 1, 1)]
    assert run(session_factory, settings, since=abandon + timedelta(hours=1)).rows == []
    with pytest.raises(ValueError, match="must be before"):
        run(session_factory, settings, since=abandon, until=abandon)


@pytest.mark.usefixtures("golden")
def test_queue_filter(settings: Settings, session_factory: sessionmaker[Session]) -> None:
    rows = rows_by_group(session_factory, settings, by="agent", queue="sales")
    assert {g: r.offered for g, r in rows.items()} == {"Park Jiwoo": 1, None: 1}
    assert rows_by_group(session_factory, settings, queue="no-such-queue") == {}


def test_bad_arguments_are_refused(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    with pytest.raises(ValueError, match="cannot group by 'month'"):
        run(session_factory, settings, by="month")
    with pytest.raises(ValueError, match="unknown time zone"):
        run(session_factory, settings, by="day", tz="Asia/Nowhere")
    with pytest.raises(ValueError, match="short_abandon_s"):
        run(session_factory, settings, short_abandon_s=-1.0)


# --- the command -------------------------------------------------------------------------------


@pytest.mark.usefixtures("golden", "cli_env")
def test_cli_json(settings: Settings, session_factory: sessionmaker[Session]) -> None:
    result = CliRunner().invoke(
        callscope,
        [
            "report",
            "compliance",
            "--by",
            "day",
            "--tz",
            "Asia/Shanghai",
            "--since",
            DAY,  # local midnight: 2026-11-21T16:00Z
            "--until",
            "2026-11-23",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["settings"] == {
        "ring_cycle_s": 5.0,
        "answer_target_rings": 3,
        "short_abandon_s": 5.0,
        "tz": "Asia/Shanghai",
        "since": "2026-11-21T16:00:00Z",
        "until": "2026-11-22T16:00:00Z",
        "by": "day",
        "queue": None,
    }
    assert {"sl_answered", "sl_inclusive"} <= set(data["definitions"])
    assert len(data["rows"]) == 1
    row = data["rows"][0]
    assert list(row)[: len(ROW_FIELDS)] == list(ROW_FIELDS)
    # then the follow-ups of the same calls and, the period being bounded, its top themes
    assert row["followups_opened"] == 0 and row["followup_on_time_rate"] is None
    assert data["top_themes"] == []
    assert (row["group"], row["offered"], row["answered"], row["abandoned"]) == (DAY, 13, 10, 3)
    assert row["sl_inclusive"] == pytest.approx(9 / 13)
    # the same figures as the service gives
    expected = run(session_factory, settings, by="day", tz="Asia/Shanghai").rows[0]
    assert {name: row[name] for name in ROW_FIELDS} == {
        name: getattr(expected, name) for name in ROW_FIELDS
    }


@pytest.mark.usefixtures("golden", "cli_env")
def test_cli_csv(settings: Settings, session_factory: sessionmaker[Session]) -> None:
    result = CliRunner().invoke(
        callscope,
        ["report", "compliance", "--by", "queue", "--short-abandon-s", "8", "--format", "csv"],
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    comments = [line for line in lines if line.startswith("# ")]
    assert lines[: len(comments)] == comments  # the settings come first
    assert "# short_abandon_s: 8.0" in comments
    assert "# tz: UTC" in comments
    assert "# ring_cycle_s: 5.0" in comments and "# answer_target_rings: 3" in comments
    table = list(csv.DictReader(io.StringIO("\n".join(lines[len(comments) :]))))
    assert [r["group"] for r in table] == ["hotline", "sales", ""]
    hotline = table[0]
    assert list(hotline) == [
        *ROW_FIELDS,
        "followups_opened",
        "followups_on_time",
        "followup_on_time_rate",
    ]
    assert (hotline["offered"], hotline["short_abandoned"], hotline["abandon_rate"]) == (
        "9",
        "1",
        "0.0",
    )
    assert float(hotline["sl_inclusive"]) == pytest.approx(7 / 8)
    assert table[2]["sl_answered"] == "1.0"


@pytest.mark.usefixtures("cli_env")
def test_cli_refuses_an_unknown_time_zone() -> None:
    result = CliRunner().invoke(callscope, ["report", "compliance", "--tz", "Mars/Olympus"])
    assert result.exit_code == 2
    assert "unknown time zone 'Mars/Olympus'" in result.output
