"""Lexicon versions, calls' complaint themes and matches, flags, follow-ups, QA review queue."""

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
from sqlalchemy.orm import Mapped, mapped_column

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
