"""Dissatisfied survey answers of a call, for its flag and follow-up (reads models only).

Kept apart from the survey service so that the flag rules and follow-ups can read it without
importing the service (which runs them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from analytics.surveys.models import DISSATISFIED_MAX, SurveyAnswer, SurveyForm, SurveyResponse


@dataclass(frozen=True, slots=True)
class LowAnswer:
    """One answer at or below DISSATISFIED_MAX."""

    question: str
    label: str
    score: int
    source: str
    answered_at: datetime


def low_answers(*, db_session: Session, call_pk: int) -> list[LowAnswer]:
    """The call's dissatisfied answers, newest response first, lowest score first within it."""
    rows = db_session.execute(
        select(SurveyAnswer, SurveyResponse, SurveyForm)
        .join(SurveyResponse, SurveyAnswer.response_id == SurveyResponse.id)
        .outerjoin(SurveyForm, SurveyResponse.form_id == SurveyForm.id)
        .where(SurveyResponse.call_pk == call_pk, SurveyAnswer.score <= DISSATISFIED_MAX)
        .order_by(SurveyResponse.answered_at.desc(), SurveyAnswer.score, SurveyAnswer.question)
    ).all()
    return [
        LowAnswer(
            question=answer.question,
            label=form.label(answer.question) if form is not None else answer.question,
            score=answer.score,
            source=response.source,
            answered_at=response.answered_at,
        )
        for answer, response, form in rows
    ]


def describe(low: list[LowAnswer]) -> str:
    """'agent attitude 1/5, outcome 2/5 (ivr survey)' for a flag or follow-up reason."""
    parts = [f"{a.label.lower()} {a.score}/5" for a in low[:4]]
    more = f" and {len(low) - 4} more" if len(low) > 4 else ""
    sources = sorted({a.source for a in low})
    return f"{', '.join(parts)}{more} ({'/'.join(sources)} survey)"
