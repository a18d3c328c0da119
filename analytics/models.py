"""Lexicon versions, calls' complaint themes and matches, flags, follow-ups, QA review queue,
QA forms and reviews."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime, utcnow

SEVERITIES: tuple[str, ...] = ("low", "medium", "high", "critical")
"""Flag severities, least urgent first."""


class ThemeSet(Base):
    """One saved version of the complaint-theme lexicon; exactly one is active."""

    __tablename__ = "theme_sets"
    __table_args__ = (
        # at most one active row (the service keeps it at exactly one)
        Index(
            "uq_theme_sets_one_active",
            "active",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)  # lexicon_to_dict of the lexicon
    fingerprint: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=False)


class CallTheme(Base):
    """A complaint theme found in a call's transcript, with its score and match count."""

    __tablename__ = "call_themes"
    __table_args__ = (
        UniqueConstraint("call_pk", "theme"),
        Index("ix_call_themes_theme", "theme"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_pk: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    transcript_id: Mapped[int] = mapped_column(
        ForeignKey("transcripts.id", ondelete="CASCADE"), index=True
    )
    theme_set_version: Mapped[int] = mapped_column(Integer)
    theme: Mapped[str] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float)
    count: Mapped[int] = mapped_column(Integer)
    always_flag: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ThemeMatchRow(Base):
    """One stretch of a transcript segment that counts for a theme, with its call time."""

    __tablename__ = "theme_matches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_pk: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    theme: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    start: Mapped[int] = mapped_column(Integer)  # character offsets in the segment's text
    end: Mapped[int] = mapped_column(Integer)
    segment: Mapped[int] = mapped_column(Integer)  # TranscriptSegment.seq
    speaker: Mapped[str | None] = mapped_column(String(16))
    time_s: Mapped[float | None] = mapped_column(Float)
    time_end_s: Mapped[float | None] = mapped_column(Float)
    phrase: Mapped[str | None] = mapped_column(Text)  # the lexicon phrase or rule that matched


class Flag(Base):
    """A reason for a person to look at a call; one per call and rule."""

    __tablename__ = "flags"
    __table_args__ = (
        UniqueConstraint("call_pk", "rule"),
        Index("ix_flags_rule", "rule"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_pk: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    rule: Mapped[str] = mapped_column(String(80))  # theme:<id> | abandoned_after_target | ...
    severity: Mapped[str] = mapped_column(String(16))  # low|medium|high|critical
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FollowUp(Base):
    """A customer who must be called back: opened by a complaint or an abandoned call."""

    __tablename__ = "followups"
    __table_args__ = (Index("ix_followups_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_pk: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), unique=True)
    number: Mapped[str | None] = mapped_column(String(64))  # the customer's number, as called
    reason: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open|done (overdue: computed)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    closed_by_call_pk: Mapped[int | None] = mapped_column(
        ForeignKey("calls.id", ondelete="SET NULL")
    )

    def status_at(self, now: datetime) -> str:
        """open, done, or overdue (open past its due time) at `now`."""
        if self.status == "open" and now > self.due_at:
            return "overdue"
        return self.status

    @property
    def on_time(self) -> bool | None:
        """True when closed by its due time, False when closed late, None while open."""
        if self.status != "done" or self.closed_at is None:
            return None
        return self.closed_at <= self.due_at


class ReviewQueueItem(Base):
    """A call picked for QA review on a day: randomly sampled per agent, or flagged."""

    __tablename__ = "review_queue_items"
    __table_args__ = (UniqueConstraint("day", "call_pk"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    call_pk: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(16))  # sampled|flagged
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    queue_id: Mapped[int | None] = mapped_column(ForeignKey("queues.id", ondelete="SET NULL"))
    seed: Mapped[str | None] = mapped_column(String(64))  # digest of (day, agent, secret seed)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- QA reviews (scorecards) ---------------------------------------------------------------------

REVIEW_STATUSES: tuple[str, ...] = ("submitted", "acknowledged", "disputed", "resolved")
"""A review's life: the reviewer submits it; the call's agent acknowledges or disputes it; a
supervisor resolves a dispute (upholding or revising the scores)."""


class QaForm(Base):
    """A QA scorecard: weighted criteria, some critical (missing one fails the call)."""

    __tablename__ = "qa_forms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)  # inactive: no new reviews
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    criteria: Mapped[list[QaCriterion]] = relationship(
        order_by="QaCriterion.seq", cascade="all, delete-orphan", lazy="selectin"
    )


class QaCriterion(Base):
    """One item of a form. `auto` names a fact of the call that scores it without a person."""

    __tablename__ = "qa_criteria"
    __table_args__ = (UniqueConstraint("form_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("qa_forms.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    max_score: Mapped[int] = mapped_column(Integer, default=1)  # 1: met / not met; 5: a scale
    critical: Mapped[bool] = mapped_column(Boolean, default=False)
    auto: Mapped[str | None] = mapped_column(String(64))  # answered_within_rings | None
    auto_rings: Mapped[int | None] = mapped_column(Integer)


class Review(Base):
    """A QA review of one call with one form; a call may be reviewed again (history)."""

    __tablename__ = "reviews"
    __table_args__ = (Index("ix_reviews_status_created", "status", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_pk: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    form_id: Mapped[int | None] = mapped_column(ForeignKey("qa_forms.id", ondelete="SET NULL"))
    form_name: Mapped[str] = mapped_column(String(200))  # kept when the form is gone
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), index=True
    )
    reviewer: Mapped[str] = mapped_column(String(200))
    comment: Mapped[str | None] = mapped_column(Text)
    total_score: Mapped[float] = mapped_column(Float)  # 0-100, weighted, N/A items left out
    failed: Mapped[bool] = mapped_column(Boolean, default=False)  # a critical item was missed
    status: Mapped[str] = mapped_column(String(16), default="submitted")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    agent_comment: Mapped[str | None] = mapped_column(Text)
    agent_responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    agent_responded_by: Mapped[str | None] = mapped_column(String(200))
    resolution: Mapped[str | None] = mapped_column(String(16))  # upheld | revised
    resolution_comment: Mapped[str | None] = mapped_column(Text)
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    scores: Mapped[list[ReviewScore]] = relationship(
        order_by="ReviewScore.seq", cascade="all, delete-orphan", lazy="selectin"
    )


class ReviewScore(Base):
    """The score of one criterion in a review, with the criterion as it was when scored."""

    __tablename__ = "review_scores"
    __table_args__ = (UniqueConstraint("review_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200))
    weight: Mapped[float] = mapped_column(Float)
    max_score: Mapped[int] = mapped_column(Integer)
    critical: Mapped[bool] = mapped_column(Boolean)
    score: Mapped[int | None] = mapped_column(Integer)  # None: not applicable
    auto: Mapped[bool] = mapped_column(Boolean, default=False)  # filled from the call's facts
    comment: Mapped[str | None] = mapped_column(Text)

    @property
    def missed(self) -> bool:
        """True when the item scored nothing (a missed critical item fails the review)."""
        return self.score == 0


class FlagRuleSet(Base):
    """Flag thresholds and the follow-up due time an admin set; the newest row is in force.

    `rules` holds only the fields set here (FLAG_RULE_FIELDS); the others come from the
    settings. Rows are never changed, so the table is the history.
    """

    __tablename__ = "flag_rule_sets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(200))
    rules: Mapped[dict[str, Any]] = mapped_column(JSON)
