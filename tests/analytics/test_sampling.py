"""The daily QA review queue: reproducible, stratified by queue, every flagged call included."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from analytics.flags import evaluate_call
from analytics.models import ReviewQueueItem
from analytics.sampling import agent_seed, allocate, build_review_queue, day_range, review_queue
from core.db import session_scope
from core.settings import Settings
from telephony.models import Call
from tests.analytics.factories import make_call

DAY = date(2026, 11, 23)
T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def test_allocation_is_proportional_with_one_per_queue_when_possible() -> None:
    assert allocate({"hotline": 18, "sales": 4, "": 2}, 10) == {"hotline": 7, "sales": 2, "": 1}
    assert allocate({"hotline": 30, "sales": 30}, 10) == {"hotline": 5, "sales": 5}
    # fewer picks than queues: the busiest queues first
    assert allocate({"a": 5, "b": 9, "c": 1}, 2) == {"b": 1, "a": 1}
    # not enough calls: all of them
    assert allocate({"a": 2, "b": 1}, 10) == {"a": 2, "b": 1}
    # a small queue is never asked for more than it has
    assert allocate({"a": 1, "b": 20}, 10) == {"a": 1, "b": 9}
    assert allocate({}, 10) == {}


def test_day_range_follows_the_time_zone() -> None:
    assert day_range(DAY) == (
        datetime(2026, 11, 23, tzinfo=UTC),
        datetime(2026, 11, 24, tzinfo=UTC),
    )
    start, end = day_range(DAY, "Asia/Shanghai")
    assert (start, end) == (
        datetime(2026, 11, 22, 16, tzinfo=UTC),
        datetime(2026, 11, 23, 16, tzinfo=UTC),
    )
    spring = day_range(date(2026, 3, 8), "America/New_York")
    assert spring[1] - spring[0] == timedelta(hours=23)


@pytest.fixture
def day_of_calls(settings: Settings, session_factory: sessionmaker[Session]) -> dict[str, int]:
    """Alice: 18 hotline, 4 sales and 2 direct calls; Bob: 5 hotline calls (one answered late);
    an abandon past target; a flagged call the day before. Names -> pks of the special ones."""
    with session_scope(session_factory) as session:
        minute = 0

        def call(**kw: object) -> int:
            nonlocal minute
            minute += 7
            return make_call(session, settings, started=T0 + timedelta(minutes=minute), **kw)  # type: ignore[arg-type]

        for _ in range(18):
            call(agent="Alice Kim", queue="hotline")
        for _ in range(4):
            call(agent="Alice Kim", queue="sales")
        for _ in range(2):
            call(agent="Alice Kim", queue=None)
        for _ in range(4):
            call(agent="Bob Li", queue="hotline")
        special = {
            "late": call(agent="Bob Li", queue="hotline", ring_s=21.0),
            "abandon": call(answered=False, abandoned=True, wait_s=30.0),
            "outbound": call(agent="Bob Li", direction="outbound", queue=None),
            "yesterday": make_call(session, settings, started=T0 - timedelta(hours=3), ring_s=40.0),
        }
        for pk in special.values():
            evaluate_call(db_session=session, call_pk=pk, settings=settings)
    return special


def picked(items: list[ReviewQueueItem]) -> dict[int, str]:
    return {item.call_pk: item.source for item in items}


def test_the_same_seed_gives_the_same_sample_and_another_seed_another(
    day_of_calls: dict[str, int], session_factory: sessionmaker[Session]
) -> None:
    with session_scope(session_factory) as session:
        first = picked(build_review_queue(db_session=session, day=DAY, seed="s3cret"))
    with session_scope(session_factory) as session:
        again = picked(build_review_queue(db_session=session, day=DAY, seed="s3cret"))
        stored = picked(review_queue(db_session=session, day=DAY))
    with session_scope(session_factory) as session:
        other = picked(build_review_queue(db_session=session, day=DAY, seed="another"))
    assert first == again == stored  # rebuilt identically, never added to
    assert {k for k, v in first.items() if v == "sampled"} != {
        k for k, v in other.items() if v == "sampled"
    }


def test_sample_per_agent_is_stratified_by_queue(
    day_of_calls: dict[str, int], session_factory: sessionmaker[Session]
) -> None:
    with session_scope(session_factory) as session:
        items = build_review_queue(db_session=session, day=DAY, seed="s3cret", per_agent=10)
        sampled = [i for i in items if i.source == "sampled"]
        per_agent: Counter[str] = Counter()
        alice_queues: Counter[str | None] = Counter()
        for item in sampled:
            call = session.get(Call, item.call_pk)
            assert call is not None and call.agent is not None
            assert call.answered and call.direction == "inbound"
            assert item.agent_id == call.agent_id and item.queue_id == call.queue_id
            assert item.seed == agent_seed(DAY, call.agent.name, "s3cret")
            assert "s3cret" not in (item.seed or "")
            per_agent[call.agent.name] += 1
            if call.agent.name == "Alice Kim":
                alice_queues[call.queue.name if call.queue else None] += 1
        # Bob answered 5 inbound calls: all of them; Alice 24: 10, in proportion to her queues
        assert per_agent == {"Alice Kim": 10, "Bob Li": 5}
        assert alice_queues == {"hotline": 7, "sales": 2, None: 1}


def test_every_flagged_call_of_the_day_is_in_the_queue(
    day_of_calls: dict[str, int], session_factory: sessionmaker[Session]
) -> None:
    with session_scope(session_factory) as session:
        items = picked(build_review_queue(db_session=session, day=DAY, seed="s3cret", per_agent=0))
    # no sample asked for: only the flagged calls of the day (not yesterday's)
    assert items == {day_of_calls["late"]: "flagged", day_of_calls["abandon"]: "flagged"}
    with session_scope(session_factory) as session:
        items = picked(build_review_queue(db_session=session, day=DAY, seed="s3cret"))
    # with the sample: Bob's late call is sampled (all 5 of his are), which it stays
    assert items[day_of_calls["late"]] == "sampled"
    assert items[day_of_calls["abandon"]] == "flagged"
    assert day_of_calls["yesterday"] not in items and day_of_calls["outbound"] not in items


def test_the_day_is_taken_in_the_time_zone(
    day_of_calls: dict[str, int], session_factory: sessionmaker[Session]
) -> None:
    # in Shanghai, 2026-11-23 ends at 16:00 UTC: every call of the fixture (01:07-04:30 UTC) is
    # in it, and so is the flagged call of 22:00 UTC the day before
    with session_scope(session_factory) as session:
        items = picked(
            build_review_queue(
                db_session=session, day=DAY, seed="s3cret", per_agent=0, tz="Asia/Shanghai"
            )
        )
    assert day_of_calls["yesterday"] in items


def test_a_seed_is_required(session_factory: sessionmaker[Session]) -> None:
    with session_scope(session_factory) as session, pytest.raises(ValueError, match="secret seed"):
        build_review_queue(db_session=session, day=DAY, seed="")
