"""The satisfaction index and what drives it.

Per group (agent, queue, hour, day, week: the compliance report's groupings) over the judged
calls started in [since, until):

- `averages`: the mean score (1-5) of each question over every answer;
- `index`: the weighted mean of those averages (CALLSCOPE_SURVEY_WEIGHTS; a question without
  answers is left out and the other weights count in full), put on 0-100 ((avg - 1) / 4 x 100);
- `response_rate`: inbound calls with at least one response / inbound calls;
- `dissatisfied_share`: responses with any score <= 2 / responses, and `reasons`: how many low
  answers each question got, with the dissatisfied customers' comments.

Drivers put the same figures side by side for buckets of calls: answered within N rings or
beyond (does a quick answer move the `reach_speed` score?), each complaint theme found in the
call against none, and the QA review score of the call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, literal, select
from sqlalchemy.orm import Session

from analytics.compliance import GROUPINGS, GroupContext, zone_for
from analytics.models import CallTheme, Review
from analytics.surveys.models import DISSATISFIED_MAX, SCORE_MAX, SCORE_MIN, SurveyAnswer
from analytics.surveys.models import SurveyResponse as Resp
from telephony.models import Call, Queue


def parse_weights(text: str) -> dict[str, float]:
    """'overall=2,reach_speed=1' -> {'overall': 2.0, 'reach_speed': 1.0}; ValueError if bad."""
    weights: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        key, sep, raw = part.partition("=")
        try:
            weight = float(raw)
        except ValueError:
            weight = -1.0
        if not sep or not key.strip() or weight < 0:
            raise ValueError(f"survey weight {part!r} is not question=weight (e.g. overall=2)")
        weights[key.strip()] = weight
    return weights


def index_of(averages: Mapping[str, float | None], weights: Mapping[str, float]) -> float | None:
    """The weighted mean of the question averages on 0-100 (None: nothing weighed)."""
    total = weight_sum = 0.0
    for key, avg in averages.items():
        weight = weights.get(key, 0.0)
        if avg is None or weight <= 0:
            continue
        total += weight * avg
        weight_sum += weight
    if weight_sum == 0:
        return None
    return round((total / weight_sum - SCORE_MIN) / (SCORE_MAX - SCORE_MIN) * 100, 2)


@dataclass(slots=True)
class Figures:
    """Survey figures of one group or driver bucket."""

    group: str | None
    calls: int | None = None
    responded_calls: int = 0
    responses: int = 0
    response_rate: float | None = None
    averages: dict[str, float | None] = field(default_factory=dict)
    answers: dict[str, int] = field(default_factory=dict)
    index: float | None = None
    dissatisfied: int = 0
    dissatisfied_share: float | None = None
    reasons: dict[str, int] = field(default_factory=dict)
    comments: list[str] = field(default_factory=list)
    would_recommend_share: float | None = None


def _aggregate(
    rows: Iterable[Any], weights: Mapping[str, float], max_comments: int = 5
) -> dict[str | None, Figures]:
    """Rows of (grp, call_pk, response_id, would_recommend, comment, question, score)."""
    sums: dict[str | None, dict[str, list[int]]] = {}
    responses: dict[str | None, dict[int, tuple[bool | None, str | None]]] = {}
    low: dict[str | None, set[int]] = {}
    calls: dict[str | None, set[int]] = {}
    reasons: dict[str | None, dict[str, int]] = {}
    for grp, call_pk, response_id, recommend, comment, question, score in rows:
        key = None if grp is None else str(grp)
        responses.setdefault(key, {})[response_id] = (recommend, comment)
        calls.setdefault(key, set()).add(call_pk)
        if question is None:
            continue
        sums.setdefault(key, {}).setdefault(question, []).append(int(score))
        if score <= DISSATISFIED_MAX:
            low.setdefault(key, set()).add(response_id)
            counts = reasons.setdefault(key, {})
            counts[question] = counts.get(question, 0) + 1
    out: dict[str | None, Figures] = {}
    for key, by_response in responses.items():
        averages: dict[str, float | None] = {
            q: round(sum(v) / len(v), 3) for q, v in sorted(sums.get(key, {}).items())
        }
        low_ids = low.get(key, set())
        recommends = [r for r, _ in by_response.values() if r is not None]
        out[key] = Figures(
            group=key,
            responded_calls=len(calls[key]),
            responses=len(by_response),
            averages=averages,
            answers={q: len(v) for q, v in sorted(sums.get(key, {}).items())},
            index=index_of(averages, weights),
            dissatisfied=len(low_ids),
            dissatisfied_share=round(len(low_ids) / len(by_response), 4),
            reasons=dict(sorted(reasons.get(key, {}).items(), key=lambda kv: (-kv[1], kv[0]))),
            comments=[c for rid, (_, c) in sorted(by_response.items()) if rid in low_ids and c][
                :max_comments
            ],
            would_recommend_share=round(sum(recommends) / len(recommends), 4)
            if recommends
            else None,
        )
    return out


def _answer_rows(per_call: Select[Any], label: ColumnElement[Any]) -> Select[Any]:
    c = per_call.add_columns(label.label("grp")).subquery("c")
    return (
        select(
            c.c.grp,
            c.c.call_pk,
            Resp.id,
            Resp.would_recommend,
            Resp.comment,
            SurveyAnswer.question,
            SurveyAnswer.score,
        )
        .select_from(c)
        .join(Resp, Resp.call_pk == c.c.call_pk)
        .outerjoin(SurveyAnswer, SurveyAnswer.response_id == Resp.id)
    )


def _calls(
    since: datetime | None, until: datetime | None, condition: ColumnElement[bool] | None
) -> Select[Any]:
    stmt = (
        select(Call.id.label("call_pk"))
        .select_from(Call)
        .outerjoin(Queue, Call.queue_id == Queue.id)
        .where(Call.direction == "inbound")
    )
    if since is not None:
        stmt = stmt.where(Call.started_at >= since)
    if until is not None:
        stmt = stmt.where(Call.started_at < until)
    if condition is not None:
        stmt = stmt.where(condition)
    return stmt


def satisfaction_index(
    *,
    db_session: Session,
    weights: Mapping[str, float],
    by: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    condition: ColumnElement[bool] | None = None,
    tz: str | None = None,
) -> list[Figures]:
    """Survey figures of the inbound calls started in [since, until), one row per group.

    `by`: queue, agent, hour, day, week (None: one row); `condition` filters `Call` (access).
    """
    if by is not None and by not in GROUPINGS:
        raise ValueError(f"cannot group by {by!r}: choose one of {', '.join(GROUPINGS)}")
    per_call = _calls(since, until, condition)
    label: ColumnElement[Any] = literal(None, Queue.name.type)
    if by is not None:
        ctx = GroupContext(
            db_session=db_session,
            dialect=db_session.get_bind().dialect.name,
            tz=zone_for(tz).key,
            since=since,
            until=until,
        )
        per_call, label = GROUPINGS[by](per_call, ctx)
    figures = _aggregate(db_session.execute(_answer_rows(per_call, label)), weights)
    counted = per_call.add_columns(label.label("grp")).subquery("n")
    totals = {
        (None if grp is None else str(grp)): int(n)
        for grp, n in db_session.execute(
            select(counted.c.grp, func.count(func.distinct(counted.c.call_pk))).group_by(
                counted.c.grp
            )
        )
    }
    rows: list[Figures] = []
    for key in sorted(set(totals) | set(figures), key=lambda k: (k is None, k or "")):
        row = figures.get(key) or Figures(group=key)
        row.calls = totals.get(key, 0)
        row.response_rate = round(row.responded_calls / row.calls, 4) if row.calls else None
        rows.append(row)
    if by is None and not rows:
        rows.append(Figures(group=None, calls=0))
    return rows


# --- drivers ------------------------------------------------------------------------------------


@dataclass(slots=True)
class Drivers:
    """Survey figures side by side for buckets of calls."""

    rings: list[Figures]
    themes: list[Figures]
    qa: list[Figures]
    ring_limit: int


def drivers(
    *,
    db_session: Session,
    weights: Mapping[str, float],
    since: datetime | None = None,
    until: datetime | None = None,
    condition: ColumnElement[bool] | None = None,
    ring_limit: int = 3,
) -> Drivers:
    """Satisfaction by rings-to-answer bucket, by complaint theme and by QA review score."""
    per_call = _calls(since, until, condition)
    within = f"within {ring_limit} rings"
    beyond = f"beyond {ring_limit} rings"
    ring_label = case(
        (Call.answered.is_(False), "not answered"),
        (Call.rings.is_(None), "rings unknown"),
        (Call.rings <= ring_limit, within),
        else_=beyond,
    )
    order = [within, beyond, "not answered", "rings unknown"]
    by_rings = _aggregate(db_session.execute(_answer_rows(per_call, ring_label)), weights)
    rings = [by_rings[k] for k in order if k in by_rings]

    themed = per_call.outerjoin(CallTheme, CallTheme.call_pk == Call.id)
    theme_label = func.coalesce(CallTheme.theme, "(no complaint theme)")
    by_theme = _aggregate(db_session.execute(_answer_rows(themed, theme_label)), weights)
    themes = sorted(by_theme.values(), key=lambda f: (f.group == "(no complaint theme)", f.group))

    # the latest review of each call counts (a call may be reviewed again)
    latest = (
        select(Review.call_pk, func.max(Review.id).label("review_id"))
        .group_by(Review.call_pk)
        .subquery("latest")
    )
    reviewed = per_call.outerjoin(latest, latest.c.call_pk == Call.id).outerjoin(
        Review, Review.id == latest.c.review_id
    )
    qa_label = case(
        (Review.id.is_(None), "not reviewed"),
        (Review.total_score < 60, "QA score < 60"),
        (and_(Review.total_score >= 60, Review.total_score < 80), "QA score 60-79"),
        else_="QA score >= 80",
    )
    by_qa = _aggregate(db_session.execute(_answer_rows(reviewed, qa_label)), weights)
    qa_order = ["QA score >= 80", "QA score 60-79", "QA score < 60", "not reviewed"]
    qa = [by_qa[k] for k in qa_order if k in by_qa]
    return Drivers(rings=rings, themes=themes, qa=qa, ring_limit=ring_limit)
