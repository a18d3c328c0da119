"""QA reviews: scorecards with weighted criteria, reviews of calls, the agent's answer, disputes.

A form lists criteria, each with a weight, a maximum score (1 = met / not met, or a scale) and
whether it is critical. A review scores every criterion of the form for one call: a number from
0 to the criterion's maximum, or None when it does not apply. Criteria marked `auto` are filled
from the call's facts (`answered_within_rings`: answered before the end of ring N, with the
queue's ring cycle) unless the reviewer scores them by hand.

    total_score = 100 x sum(weight x score / max_score) / sum(weight), over the items that apply
    failed      = any critical item scored 0

A failed review keeps its weighted total (for coaching); `failed` is what marks the call.

The call's agent acknowledges a submitted review or disputes it with a comment; a supervisor
resolves a dispute by upholding the scores or revising them. Every review keeps a copy of the
criteria it was scored on, so editing a form never changes past reviews. The default form is
stored on first use. Services flush; the caller commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from analytics.errors import AnalyticsError
from analytics.models import QaCriterion, QaForm, Review, ReviewQueueItem, ReviewScore
from core.db import utcnow
from core.settings import Settings
from telephony.models import Call
from telephony.rings import within_target
from telephony.service import ring_policy

AUTO_ANSWERED_WITHIN_RINGS = "answered_within_rings"
AUTO_RULES: tuple[str, ...] = (AUTO_ANSWERED_WITHIN_RINGS,)
RESOLUTIONS: tuple[str, ...] = ("upheld", "revised")
DEFAULT_FORM_NAME = "Hotline call (default)"


class ReviewError(AnalyticsError):
    """A QA form or review cannot be used or changed as asked.

    ReviewError (AnalyticsError)
     +-- ReviewInputError   scores or criteria that do not fit the form (unknown key, out of range)
     +-- ReviewStateError   a change the review's state does not allow (dispute twice, ...)
     +-- FormNotFound       no form with that id, or one that is inactive for new reviews
    """


class ReviewInputError(ReviewError):
    """Scores or criteria that do not fit."""


class ReviewStateError(ReviewError):
    """The review's state does not allow this change."""


class FormNotFound(ReviewError):
    """No such QA form."""


@dataclass(frozen=True, slots=True)
class CriterionSpec:
    """A criterion as a form is created or edited with it."""

    key: str
    label: str
    weight: float = 1.0
    max_score: int = 1
    critical: bool = False
    auto: str | None = None
    auto_rings: int | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class ScoreInput:
    """A reviewer's score of one criterion (score None: not applicable)."""

    key: str
    score: int | None
    comment: str | None = None


DEFAULT_CRITERIA: tuple[CriterionSpec, ...] = (
    CriterionSpec(
        "answered_within_three_rings",
        "Answered within three rings",
        weight=1.0,
        critical=True,
        auto=AUTO_ANSWERED_WITHIN_RINGS,
        auto_rings=3,
        description="Filled from the call: answered before the third ring ended.",
    ),
    CriterionSpec(
        "greeting",
        "Greeting and self-introduction",
        weight=1.0,
        description="Greets the caller, names the dealership and themselves.",
    ),
    CriterionSpec(
        "needs_confirmed",
        "Customer's need confirmed",
        weight=2.0,
        description="Restates the problem and checks it with the customer.",
    ),
    CriterionSpec(
        "courteous",
        "Courteous throughout",
        weight=2.0,
        critical=True,
        description="No rudeness, no blame; patient with an upset caller.",
    ),
    CriterionSpec(
        "solved",
        "Need solved or next step agreed",
        weight=3.0,
        description="The problem is solved, or a concrete next step and time are agreed.",
    ),
    CriterionSpec(
        "closing",
        "Closing",
        weight=1.0,
        description="Summarises, asks if anything else is needed, thanks the caller.",
    ),
)


# --- forms -------------------------------------------------------------------------------------


def _check_criteria(criteria: Sequence[CriterionSpec]) -> None:
    if not criteria:
        raise ReviewInputError("a form needs at least one criterion")
    seen: set[str] = set()
    for c in criteria:
        if c.key in seen:
            raise ReviewInputError(f"criterion {c.key!r} is listed twice")
        seen.add(c.key)
        if not c.weight > 0:
            raise ReviewInputError(f"criterion {c.key!r}: weight must be above 0")
        if not 1 <= c.max_score <= 100:
            raise ReviewInputError(f"criterion {c.key!r}: max_score must be 1 to 100")
        if c.auto is not None and c.auto not in AUTO_RULES:
            raise ReviewInputError(
                f"criterion {c.key!r}: auto must be one of {', '.join(AUTO_RULES)}"
            )
        if c.auto_rings is not None and c.auto is None:
            raise ReviewInputError(f"criterion {c.key!r}: auto_rings needs auto")


def _criterion_rows(criteria: Sequence[CriterionSpec]) -> list[QaCriterion]:
    return [
        QaCriterion(
            seq=i,
            key=c.key,
            label=c.label,
            description=c.description,
            weight=float(c.weight),
            max_score=c.max_score,
            critical=c.critical,
            auto=c.auto,
            auto_rings=c.auto_rings,
        )
        for i, c in enumerate(criteria)
    ]


def _clear_default(db_session: Session) -> None:
    for form in db_session.scalars(select(QaForm).where(QaForm.is_default.is_(True))):
        form.is_default = False


def create_form(
    *,
    db_session: Session,
    name: str,
    criteria: Sequence[CriterionSpec],
    description: str | None = None,
    created_by: str | None = None,
    is_default: bool = False,
) -> QaForm:
    """A new QA form; ReviewInputError when the name is taken or a criterion is invalid."""
    _check_criteria(criteria)
    if db_session.scalar(select(QaForm.id).where(QaForm.name == name)) is not None:
        raise ReviewInputError(f"a QA form named {name!r} exists already")
    if is_default:
        _clear_default(db_session)
    form = QaForm(
        name=name,
        description=description,
        is_default=is_default,
        active=True,
        created_by=created_by,
        created_at=utcnow(),
        updated_at=utcnow(),
    )
    form.criteria = _criterion_rows(criteria)
    db_session.add(form)
    db_session.flush()
    return form


def update_form(
    *,
    db_session: Session,
    form: QaForm,
    name: str | None = None,
    description: str | None = None,
    criteria: Sequence[CriterionSpec] | None = None,
    active: bool | None = None,
    is_default: bool | None = None,
) -> list[str]:
    """Change a form (past reviews keep the criteria they were scored on); the fields changed."""
    changed: list[str] = []
    if name is not None and name != form.name:
        taken = db_session.scalar(
            select(QaForm.id).where(QaForm.name == name, QaForm.id != form.id)
        )
        if taken is not None:
            raise ReviewInputError(f"a QA form named {name!r} exists already")
        form.name = name
        changed.append("name")
    if description is not None and description != form.description:
        form.description = description
        changed.append("description")
    if criteria is not None:
        _check_criteria(criteria)
        form.criteria = _criterion_rows(criteria)
        db_session.flush()  # the old rows go before the new ones take their (form, key)
        changed.append("criteria")
    if active is not None and active != form.active:
        if not active and form.is_default:
            raise ReviewInputError("make another form the default before deactivating this one")
        form.active = active
        changed.append("active")
    if is_default is not None and is_default != form.is_default:
        if not is_default:
            raise ReviewInputError("make another form the default instead")
        if not form.active:
            raise ReviewInputError("an inactive form cannot be the default")
        _clear_default(db_session)
        form.is_default = True
        changed.append("is_default")
    if changed:
        form.updated_at = utcnow()
    db_session.flush()
    return changed


def default_form(*, db_session: Session) -> QaForm:
    """The default form; the hotline form of DEFAULT_CRITERIA is stored on first use."""
    form = db_session.scalar(select(QaForm).where(QaForm.is_default.is_(True)))
    if form is not None:
        return form
    existing = db_session.scalar(select(QaForm).where(QaForm.name == DEFAULT_FORM_NAME))
    if existing is not None:
        existing.is_default, existing.active = True, True
        db_session.flush()
        return existing
    return create_form(
        db_session=db_session,
        name=DEFAULT_FORM_NAME,
        description="Dealership after-sales hotline: the promise to answer within three rings, "
        "then how the call was handled.",
        criteria=DEFAULT_CRITERIA,
        created_by="callscope (default form)",
        is_default=True,
    )


def list_forms(*, db_session: Session, include_inactive: bool = False) -> list[QaForm]:
    """QA forms by name (the default form is stored on first use)."""
    default_form(db_session=db_session)
    stmt = select(QaForm).order_by(QaForm.name)
    if not include_inactive:
        stmt = stmt.where(QaForm.active.is_(True))
    return list(db_session.scalars(stmt))


def get_form(*, db_session: Session, form_id: int) -> QaForm:
    """A form by id; FormNotFound otherwise."""
    form = db_session.get(QaForm, form_id)
    if form is None:
        raise FormNotFound(f"no QA form with id {form_id}")
    return form


# --- scoring -----------------------------------------------------------------------------------


def auto_score(criterion: QaCriterion, call: Call, settings: Settings) -> int | None:
    """The score the call's facts give an `auto` criterion (None: does not apply)."""
    if criterion.auto == AUTO_ANSWERED_WITHIN_RINGS:
        if call.direction != "inbound":
            return None  # an outbound call has no rings to answer
        policy = ring_policy(call.queue, settings)
        rings = criterion.auto_rings or policy.answer_target_rings
        ring_s = call.ring_to_answer_s
        met = (
            call.answered
            and ring_s is not None
            and within_target(ring_s, policy.ring_cycle_s, rings)
        )
        return criterion.max_score if met else 0
    return None


def totals(scores: Sequence[ReviewScore]) -> tuple[float, bool]:
    """(total_score 0-100, failed) of scored items, as the module docstring defines them."""
    weight = sum(s.weight for s in scores if s.score is not None)
    earned = sum(s.weight * s.score / s.max_score for s in scores if s.score is not None)
    total = round(100.0 * earned / weight, 2) if weight > 0 else 0.0
    failed = any(s.critical and s.score == 0 for s in scores)
    return total, failed


def _scores(
    criteria: Sequence[QaCriterion], given: Sequence[ScoreInput], call: Call, settings: Settings
) -> list[ReviewScore]:
    by_key: dict[str, ScoreInput] = {}
    for item in given:
        if item.key in by_key:
            raise ReviewInputError(f"criterion {item.key!r} is scored twice")
        by_key[item.key] = item
    known = {c.key for c in criteria}
    unknown = sorted(set(by_key) - known)
    if unknown:
        raise ReviewInputError(
            f"the form has no criterion {', '.join(map(repr, unknown))}; "
            f"its criteria: {', '.join(sorted(known))}"
        )
    out: list[ReviewScore] = []
    for c in criteria:
        entry = by_key.get(c.key)
        if entry is None and c.auto is None:
            raise ReviewInputError(
                f"score criterion {c.key!r} ({c.label}), or null if it does not apply"
            )
        if entry is None:
            score, auto, comment = auto_score(c, call, settings), True, None
        else:
            score, auto, comment = entry.score, False, entry.comment
            if score is not None and not 0 <= score <= c.max_score:
                raise ReviewInputError(f"criterion {c.key!r}: score must be 0 to {c.max_score}")
            if score is None and c.critical:
                raise ReviewInputError(
                    f"criterion {c.key!r} is critical: it must be scored, not marked not applicable"
                )
        out.append(
            ReviewScore(
                seq=c.seq,
                key=c.key,
                label=c.label,
                weight=c.weight,
                max_score=c.max_score,
                critical=c.critical,
                score=score,
                auto=auto,
                comment=comment,
            )
        )
    if all(s.score is None for s in out):
        raise ReviewInputError("score at least one criterion")
    return out


# --- reviews -----------------------------------------------------------------------------------


def create_review(
    *,
    db_session: Session,
    call: Call,
    reviewer: str,
    scores: Sequence[ScoreInput],
    settings: Settings,
    form: QaForm | None = None,
    comment: str | None = None,
) -> Review:
    """A submitted review of the call; the total and the critical fail are computed here."""
    form = form or default_form(db_session=db_session)
    if not form.active:
        raise ReviewInputError(f"QA form {form.name!r} is inactive; use an active form")
    rows = _scores(form.criteria, scores, call, settings)
    total, failed = totals(rows)
    now = utcnow()
    review = Review(
        call_pk=call.id,
        form_id=form.id,
        form_name=form.name,
        agent_id=call.agent_id,
        reviewer=reviewer,
        comment=comment,
        total_score=total,
        failed=failed,
        status="submitted",
        created_at=now,
        updated_at=now,
    )
    review.scores = rows
    db_session.add(review)
    db_session.flush()
    return review


def _respond(review: Review, status: str, by: str, comment: str | None) -> Review:
    if review.status != "submitted":
        raise ReviewStateError(
            f"the review is {review.status} already; the agent answers a review once"
        )
    review.status = status
    review.agent_comment = comment
    review.agent_responded_by = by
    review.agent_responded_at = utcnow()
    review.updated_at = review.agent_responded_at
    return review


def acknowledge(
    *, db_session: Session, review: Review, by: str, comment: str | None = None
) -> Review:
    """The call's agent accepts the review."""
    _respond(review, "acknowledged", by, comment)
    db_session.flush()
    return review


def dispute(*, db_session: Session, review: Review, by: str, comment: str) -> Review:
    """The call's agent disputes the review, saying why."""
    if not comment or not comment.strip():
        raise ReviewInputError("say what is wrong: a dispute needs a comment")
    _respond(review, "disputed", by, comment.strip())
    db_session.flush()
    return review


def resolve(
    *,
    db_session: Session,
    review: Review,
    by: str,
    resolution: str,
    comment: str,
    settings: Settings,
    scores: Sequence[ScoreInput] | None = None,
) -> Review:
    """A supervisor settles a dispute: `upheld` keeps the scores, `revised` replaces them."""
    if review.status != "disputed":
        raise ReviewStateError(
            f"only a disputed review can be resolved; this one is {review.status}"
        )
    if resolution not in RESOLUTIONS:
        raise ReviewInputError(f"resolution must be one of {', '.join(RESOLUTIONS)}")
    if not comment or not comment.strip():
        raise ReviewInputError("explain the decision: a resolution needs a comment")
    if resolution == "upheld" and scores:
        raise ReviewInputError("an upheld review keeps its scores; send scores only to revise")
    if resolution == "revised":
        if not scores:
            raise ReviewInputError("a revised review needs the new scores")
        _revise(review, scores)
    review.status = "resolved"
    review.resolution = resolution
    review.resolution_comment = comment.strip()
    review.resolved_by = by
    review.resolved_at = utcnow()
    review.updated_at = review.resolved_at
    db_session.flush()
    return review


def _revise(review: Review, scores: Sequence[ScoreInput]) -> None:
    """Replace the scores of the criteria given; the others keep theirs."""
    rows = {s.key: s for s in review.scores}
    seen: set[str] = set()
    for item in scores:
        row = rows.get(item.key)
        if row is None:
            raise ReviewInputError(
                f"the review has no criterion {item.key!r}; its criteria: {', '.join(rows)}"
            )
        if item.key in seen:
            raise ReviewInputError(f"criterion {item.key!r} is scored twice")
        seen.add(item.key)
        if item.score is not None and not 0 <= item.score <= row.max_score:
            raise ReviewInputError(f"criterion {item.key!r}: score must be 0 to {row.max_score}")
        if item.score is None and row.critical:
            raise ReviewInputError(
                f"criterion {item.key!r} is critical: it must be scored, not marked not applicable"
            )
        row.score, row.auto, row.comment = item.score, False, item.comment
    if all(s.score is None for s in review.scores):
        raise ReviewInputError("score at least one criterion")
    review.total_score, review.failed = totals(review.scores)


def reviews_of_call(*, db_session: Session, call_pk: int) -> list[Review]:
    """Every review of a call, newest first (the first is the one in force)."""
    return list(
        db_session.scalars(
            select(Review)
            .where(Review.call_pk == call_pk)
            .order_by(Review.created_at.desc(), Review.id.desc())
        )
    )


def review_statuses(*, db_session: Session, call_pks: Sequence[int]) -> dict[int, str]:
    """Per call: the status of its newest review, else `queued` when it is in a review queue."""
    if not call_pks:
        return {}
    newest = (
        select(Review.call_pk, func.max(Review.id).label("id"))
        .where(Review.call_pk.in_(call_pks))
        .group_by(Review.call_pk)
        .subquery()
    )
    out: dict[int, str] = {
        pk: status
        for pk, status in db_session.execute(
            select(Review.call_pk, Review.status).join(newest, newest.c.id == Review.id)
        )
    }
    for pk in db_session.scalars(
        select(ReviewQueueItem.call_pk).where(ReviewQueueItem.call_pk.in_(call_pks)).distinct()
    ):
        out.setdefault(pk, "queued")
    return out
