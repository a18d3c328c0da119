"""The daily QA review queue: a reproducible random sample per agent, plus every flagged call.

For each agent, `per_agent` of the inbound calls they answered that day are drawn at random,
stratified by queue: each queue gets a share proportional to the agent's calls in it, and at
least one call when there are as many picks as queues (else the busiest queues go first). The
random generator is seeded with sha256(day | agent name | secret seed), so the same day, agent
and seed always give the same sample, while an agent who does not know the seed cannot tell
which calls will be reviewed. Every call of the day with a flag joins the queue as `flagged`,
unless the random draw already picked it (it stays `sampled`, so the sample stays unbiased).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from analytics.compliance import zone_for
from analytics.models import Flag, ReviewQueueItem
from telephony.models import Call

DEFAULT_PER_AGENT = 10


def day_range(day: date, tz: str | None = None) -> tuple[datetime, datetime]:
    """[start, end) of a local day in UTC (23 or 25 hours long when the clocks change)."""
    zone = zone_for(tz)
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def agent_seed(day: date, agent: str, seed: str) -> str:
    """The hex digest that seeds an agent's draw on a day (stored; it does not reveal the seed)."""
    return hashlib.sha256(f"{day.isoformat()}|{agent}|{seed}".encode()).hexdigest()


def allocate(sizes: Mapping[str, int], n: int) -> dict[str, int]:
    """Picks per stratum: proportional to size, at least one each when n allows, never more
    than a stratum holds. Deterministic (ties go to the bigger stratum, then by name)."""
    strata = sorted((k for k, v in sizes.items() if v > 0), key=lambda k: (-sizes[k], k))
    total = sum(sizes[k] for k in strata)
    if n >= total:
        return {k: sizes[k] for k in strata}
    alloc = {k: 0 for k in strata}
    for k in strata[:n]:
        alloc[k] = 1  # one each while picks last; the busiest strata first
    quota = {k: n * sizes[k] / total for k in strata}
    for _ in range(n - sum(alloc.values())):
        # max() keeps the first of equals: strata are in (bigger, then name) order
        best = max((k for k in strata if alloc[k] < sizes[k]), key=lambda k: quota[k] - alloc[k])
        alloc[best] += 1
    return {k: v for k, v in alloc.items() if v}


def stratified_sample(calls: Sequence[Call], n: int, rng: random.Random) -> list[Call]:
    """`n` calls drawn at random, stratified by queue (see `allocate`)."""
    strata: dict[str, list[Call]] = {}
    for call in sorted(calls, key=lambda c: (c.started_at, c.call_id)):
        strata.setdefault(call.queue.name if call.queue else "", []).append(call)
    alloc = allocate({k: len(v) for k, v in strata.items()}, n)
    picked: list[Call] = []
    for key in sorted(alloc):
        picked.extend(rng.sample(strata[key], alloc[key]))
    return picked


def build_review_queue(
    *,
    db_session: Session,
    day: date,
    seed: str,
    per_agent: int = DEFAULT_PER_AGENT,
    tz: str | None = None,
) -> list[ReviewQueueItem]:
    """Replace the day's review queue: the random sample per agent plus every flagged call."""
    if per_agent < 0:
        raise ValueError("per_agent must be 0 or more")
    if not seed:
        raise ValueError("a secret seed is needed, or anyone could predict the sample")
    start, end = day_range(day, tz)
    in_day = (Call.started_at >= start, Call.started_at < end)
    answered = db_session.scalars(
        select(Call).where(
            *in_day,
            Call.direction == "inbound",
            Call.answered.is_(True),
            Call.agent_id.is_not(None),
        )
    )
    by_agent: dict[str, list[Call]] = {}
    for call in answered:
        assert call.agent is not None
        by_agent.setdefault(call.agent.name, []).append(call)
    db_session.execute(delete(ReviewQueueItem).where(ReviewQueueItem.day == day))
    items: dict[int, ReviewQueueItem] = {}
    for agent in sorted(by_agent):
        digest = agent_seed(day, agent, seed)
        rng = random.Random(int(digest[:16], 16))
        for call in stratified_sample(by_agent[agent], per_agent, rng):
            items[call.id] = _item(day, call, "sampled", digest)
    flagged = db_session.scalars(
        select(Call)
        .where(*in_day, Call.id.in_(select(Flag.call_pk)))
        .order_by(Call.started_at, Call.id)
    )
    for call in flagged:
        if call.id not in items:
            items[call.id] = _item(day, call, "flagged", None)
    db_session.add_all(items.values())
    db_session.flush()
    return review_queue(db_session=db_session, day=day)


def _item(day: date, call: Call, source: str, seed: str | None) -> ReviewQueueItem:
    return ReviewQueueItem(
        day=day,
        call_pk=call.id,
        source=source,
        agent_id=call.agent_id,
        queue_id=call.queue_id,
        seed=seed,
    )


def review_queue(*, db_session: Session, day: date) -> list[ReviewQueueItem]:
    """The day's review queue: sampled first, then flagged, each in call order."""
    return list(
        db_session.scalars(
            select(ReviewQueueItem)
            .join(Call, Call.id == ReviewQueueItem.call_pk)
            .where(ReviewQueueItem.day == day)
            .order_by(ReviewQueueItem.source.desc(), Call.started_at, Call.id)
        )
    )
