"""Calls, agent attempts, agents, queues and the append-only AMI event log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime, utcnow


class Agent(Base):
    """A person who answers calls: a queue member name, with the interface their phone uses."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    interface: Mapped[str | None] = mapped_column(String(200), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Queue(Base):
    """An Asterisk queue, with optional per-queue ring cycle, answer target and retention."""

    __tablename__ = "queues"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    ring_cycle_s: Mapped[float | None] = mapped_column(Float)
    answer_target_rings: Mapped[int | None] = mapped_column(Integer)
    language: Mapped[str | None] = mapped_column(String(8))
    # days recordings and transcripts are kept (None: CALLSCOPE_RETENTION_DAYS; 0: forever)
    retention_days: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Call(Base):
    """One call: everything that shares one Asterisk Linkedid."""

    __tablename__ = "calls"
    __table_args__ = (
        Index("ix_calls_started_at", "started_at"),
        Index("ix_calls_queue_started", "queue_id", "started_at"),
        Index("ix_calls_agent_started", "agent_id", "started_at"),
        Index("ix_calls_caller_number", "caller_number"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(String(64), unique=True)  # Linkedid
    uniqueid: Mapped[str] = mapped_column(String(64), unique=True)  # caller channel's Uniqueid
    source: Mapped[str] = mapped_column(String(16), default="ami")  # ami | queue_log
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    direction: Mapped[str] = mapped_column(String(16), default="inbound")
    queue_id: Mapped[int | None] = mapped_column(ForeignKey("queues.id"))
    caller_number: Mapped[str | None] = mapped_column(String(64))
    caller_name: Mapped[str | None] = mapped_column(String(200))
    dialed_number: Mapped[str | None] = mapped_column(String(64))
    answered: Mapped[bool] = mapped_column(Boolean, default=False)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ring_to_answer_s: Mapped[float | None] = mapped_column(Float)
    rings: Mapped[int | None] = mapped_column(Integer)
    answered_within_target: Mapped[bool | None] = mapped_column(Boolean)
    abandoned: Mapped[bool] = mapped_column(Boolean, default=False)
    wait_s: Mapped[float | None] = mapped_column(Float)
    talk_s: Mapped[float | None] = mapped_column(Float)
    recording_mixed: Mapped[str | None] = mapped_column(Text)
    recording_customer: Mapped[str | None] = mapped_column(Text)
    recording_agent: Mapped[str | None] = mapped_column(Text)
    complete: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    queue: Mapped[Queue | None] = relationship(lazy="joined")
    agent: Mapped[Agent | None] = relationship(lazy="joined")
    attempts: Mapped[list[CallAttempt]] = relationship(
        back_populates="call",
        cascade="all, delete-orphan",
        order_by="CallAttempt.seq",
        lazy="selectin",
    )


class CallAttempt(Base):
    """One agent's phone ringing for a call, and how that ended."""

    __tablename__ = "call_attempts"
    __table_args__ = (
        UniqueConstraint("call_pk", "seq"),
        # "did this call ring that agent?" answered from the index alone (agents' call lists)
        Index("ix_call_attempts_call_agent", "call_pk", "agent_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_pk: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), index=True)
    agent_name: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ring_s: Mapped[float | None] = mapped_column(Float)
    outcome: Mapped[str] = mapped_column(String(16))  # answered|no_answer|cancelled|busy|failed

    call: Mapped[Call] = relationship(back_populates="attempts")


class AmiEventLog(Base):
    """Append-only log of the AMI events received, to re-derive calls after a fix."""

    __tablename__ = "ami_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    linkedid: Mapped[str | None] = mapped_column(String(64), index=True)
    event_ts: Mapped[float | None] = mapped_column(Float)
    received_ts: Mapped[float] = mapped_column(Float)
    headers: Mapped[dict[str, str]] = mapped_column(JSON)


class ConnectorState(Base):
    """Small key/value state the connector keeps across restarts (queue_log position...)."""

    __tablename__ = "connector_state"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
