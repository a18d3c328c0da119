"""Post-call IVR surveys: Asterisk `UserEvent(CallscopeSurvey,...)` events become answers.

The dialplan (docs/surveys.md) sends one event per keypress:

    Event: UserEvent
    UserEvent: CallscopeSurvey
    Call: <Linkedid of the judged call>
    Question: <n: the n-th question of the form; or its key; or "recommend">
    Score: <the digit pressed>
    Form: <form name, optional>

The connector logs every UserEvent in the raw event log (they are tracked events) with its
digest. `ingest_ivr_events` reads the log from a stored position and takes each survey event
once: its digest is recorded in `survey_inputs` as accepted or rejected (with the reason), so a
duplicate event, a replay after a reconnect or a second run adds nothing. An event for a call
that is not stored yet waits when it came from that very call (the caller is still on the line
answering); it is rejected as an unknown call once `pending_s` has passed, or at once when it
came from another call.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from analytics.surveys.callbacks import complete_by_outbound
from analytics.surveys.errors import SurveyInputError
from analytics.surveys.models import (
    SCORE_MAX,
    SCORE_MIN,
    SurveyAnswer,
    SurveyForm,
    SurveyInput,
    SurveyResponse,
)
from analytics.surveys.service import default_form, react
from core.db import session_scope
from core.settings import Settings
from telephony import service as telephony_service
from telephony.models import AmiEventLog, Call
from telephony.service import ts_to_dt

log = logging.getLogger(__name__)

USER_EVENT = "CallscopeSurvey"
STATE_KEY = "surveys:ivr_event_id"
RECOMMEND = "recommend"
PENDING_S = 4 * 3600.0
"""How long a survey event may wait for its call (still in progress) before it is rejected."""


@dataclass(slots=True)
class IvrResult:
    """What one ingest run did."""

    accepted: int = 0
    rejected: int = 0
    waiting: int = 0
    reasons: list[str] = field(default_factory=list)
    call_pks: set[int] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class IvrAnswer:
    """One keypress, read from a UserEvent's headers."""

    call_ref: str
    question: str  # a key of the form, or RECOMMEND
    score: int
    session: str  # the survey channel: one response per judged call and survey channel
    own_linkedid: str | None


def is_survey_event(headers: Mapping[str, str]) -> bool:
    """True for a CallscopeSurvey UserEvent."""
    return (headers.get("UserEvent") or "").strip().lower() == USER_EVENT.lower()


def _header(headers: Mapping[str, str], key: str) -> str | None:
    for k, v in headers.items():
        if k.lower() == key.lower():
            value = (v or "").strip()
            return value if value and value != "<unknown>" else None
    return None


def read_answer(headers: Mapping[str, str], form: SurveyForm) -> IvrAnswer:
    """The keypress an event reports; SurveyInputError says what is wrong with it."""
    own = _header(headers, "Linkedid")
    call_ref = _header(headers, "Call") or own
    if call_ref is None:
        raise SurveyInputError(
            "no Call header: the dialplan must send Call: <Linkedid of the judged call>"
        )
    raw_question = _header(headers, "Question")
    keys = form.question_keys()
    if raw_question is None:
        raise SurveyInputError("no Question header")
    if raw_question.isdigit():
        n = int(raw_question)
        if 1 <= n <= len(keys):
            question = keys[n - 1]
        elif n == len(keys) + 1 or n == 9:
            question = RECOMMEND
        else:
            raise SurveyInputError(
                f"question {n} is not on form {form.name!r} (1-{len(keys)}, "
                f"{len(keys) + 1} or 9 = would recommend)"
            )
    elif raw_question.lower() in keys or raw_question.lower() == RECOMMEND:
        question = raw_question.lower()
    else:
        raise SurveyInputError(f"question {raw_question!r} is not on form {form.name!r}")
    raw_score = _header(headers, "Score")
    if raw_score is None or not raw_score.isdigit():
        raise SurveyInputError(f"{question}: keypress {raw_score!r} is not a digit")
    score = int(raw_score)
    if question == RECOMMEND and score not in (1, 2):
        raise SurveyInputError(f"recommend: keypress {score} is not 1 (yes) or 2 (no)")
    if question != RECOMMEND and not SCORE_MIN <= score <= SCORE_MAX:
        raise SurveyInputError(f"{question}: keypress {score} is outside {SCORE_MIN}-{SCORE_MAX}")
    session = _header(headers, "Uniqueid") or own or call_ref
    return IvrAnswer(call_ref, question, score, session, own)


def ingest_ivr_events(
    *,
    db_session: Session,
    settings: Settings,
    now: float | None = None,
    pending_s: float = PENDING_S,
    batch: int = 2000,
) -> IvrResult:
    """Turn the survey UserEvents logged since the last run into answers; idempotent."""
    now = time.time() if now is None else now
    result = IvrResult()
    mark = int(telephony_service.get_state(db_session=db_session, key=STATE_KEY) or 0)
    settled_until: int | None = None
    last_id = mark
    touched: dict[int, SurveyResponse] = {}
    while True:
        rows = list(
            db_session.scalars(
                select(AmiEventLog)
                .where(AmiEventLog.name == "UserEvent", AmiEventLog.id > last_id)
                .order_by(AmiEventLog.id)
                .limit(batch)
            )
        )
        if not rows:
            break
        last_id = rows[-1].id
        digests = [r.digest for r in rows]
        taken = set(
            db_session.scalars(select(SurveyInput.digest).where(SurveyInput.digest.in_(digests)))
        )
        for row in rows:
            if row.digest in taken or not is_survey_event(row.headers):
                continue
            outcome = _take(db_session, row, now, pending_s, result, touched)
            if outcome == "waiting" and settled_until is None:
                settled_until = row.id - 1
    new_mark = settled_until if settled_until is not None else last_id
    if new_mark != mark:
        telephony_service.set_state(db_session=db_session, key=STATE_KEY, value=str(new_mark))
    db_session.flush()
    for call_pk in sorted({r.call_pk for r in touched.values()}):
        react(db_session=db_session, call_pk=call_pk, settings=settings)
        result.call_pks.add(call_pk)
    return result


def _take(
    db_session: Session,
    row: AmiEventLog,
    now: float,
    pending_s: float,
    result: IvrResult,
    touched: dict[int, SurveyResponse],
) -> str:
    headers = dict(row.headers)
    form: SurveyForm | None = None
    call: Call | None = None
    call_ref = _header(headers, "Call") or _header(headers, "Linkedid")
    try:
        form_name = _header(headers, "Form")
        form = (
            db_session.scalar(select(SurveyForm).where(SurveyForm.name == form_name))
            if form_name
            else default_form(db_session=db_session)
        )
        if form is None:
            raise SurveyInputError(f"no survey form {form_name!r}")
        answer = read_answer(headers, form)
        call = telephony_service.find_call(
            db_session=db_session, call_id=answer.call_ref, uniqueid=answer.call_ref
        )
        if call is None:
            from_same_call = answer.own_linkedid in (None, answer.call_ref)
            age = now - row.received_ts
            if from_same_call and age < pending_s:
                result.waiting += 1
                return "waiting"  # the caller is still on the line: the call is not stored yet
            waited = f" after waiting {age / 3600:.1f} h" if from_same_call else ""
            raise SurveyInputError(f"no call {answer.call_ref!r} is stored{waited}")
    except SurveyInputError as exc:
        reason = str(exc)
        db_session.add(
            SurveyInput(
                source="ivr",
                digest=row.digest,
                call_ref=call_ref,
                status="rejected",
                reason=reason,
                payload=headers,
            )
        )
        result.rejected += 1
        result.reasons.append(f"event {row.digest[:10]} (call {call_ref}): {reason}")
        log.warning(
            "IVR survey event rejected (call %s): %s; headers %s", call_ref, reason, headers
        )
        return "rejected"
    response = _response_for(db_session, answer, call, form, row, touched)
    if answer.question == RECOMMEND:
        response.would_recommend = answer.score == 1
    else:
        existing = next((a for a in response.answers if a.question == answer.question), None)
        if existing is None:
            response.answers.append(SurveyAnswer(question=answer.question, score=answer.score))
        else:
            existing.score = answer.score  # pressed again: the last key counts
    db_session.flush()
    db_session.add(
        SurveyInput(
            source="ivr",
            digest=row.digest,
            call_ref=answer.call_ref,
            status="accepted",
            payload=headers,
            response_id=response.id,
        )
    )
    result.accepted += 1
    return "accepted"


def _response_for(
    db_session: Session,
    answer: IvrAnswer,
    call: Call,
    form: SurveyForm,
    row: AmiEventLog,
    touched: dict[int, SurveyResponse],
) -> SurveyResponse:
    ref = f"ivr:{call.call_id}:{answer.session}"[:200]
    response = next((r for r in touched.values() if r.external_ref == ref), None)
    if response is None:
        response = db_session.scalar(
            select(SurveyResponse).where(SurveyResponse.external_ref == ref)
        )
    if response is None:
        callback_pk = None
        if answer.own_linkedid and answer.own_linkedid != call.call_id:
            callback = telephony_service.find_call(
                db_session=db_session, call_id=answer.own_linkedid
            )
            callback_pk = callback.id if callback is not None else None
        response = SurveyResponse(
            form_id=form.id,
            form_name=form.name,
            call_pk=call.id,
            callback_call_pk=callback_pk,
            source="ivr",
            answered_at=ts_to_dt(row.event_ts or row.received_ts),
            external_ref=ref,
        )
        db_session.add(response)
        db_session.flush()
    touched[response.id] = response
    return response


def after_calls_committed(
    call_pks: Sequence[int],
    *,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> IvrResult | None:
    """The connector's after-commit step: outbound calls complete callback items, and survey
    events logged so far become answers. Own transaction; errors are logged, not raised
    (`callscope surveys sync` catches up)."""
    try:
        with session_scope(session_factory) as session:
            for call_pk in call_pks:
                complete_by_outbound(db_session=session, call_pk=call_pk, settings=settings)
            return ingest_ivr_events(db_session=session, settings=settings)
    except Exception:
        log.exception("survey intake after calls %s failed; run `callscope surveys sync`", call_pks)
        return None
