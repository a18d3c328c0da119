"""Who may see which calls, and who may do what: the one place that decides.

Every list and every lookup of a call (and of what hangs off a call: recording, transcript,
export, flags, themes) adds `call_filter(user)` to its query; reviews and follow-ups, which are
an agent's own work, add `own_work_filter(user)`. A call outside the filter is answered 404, the
same as a call that does not exist, so a user never learns that it exists.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true

from api.models import User
from telephony.models import Agent, Call, CallAttempt, Queue

PERMISSIONS: dict[str, frozenset[str]] = {
    "view_all_calls": frozenset({"manager", "admin"}),
    "view_unredacted": frozenset({"manager", "admin"}),
    "manage_users": frozenset({"admin"}),
    "manage_lexicon": frozenset({"admin"}),
    "manage_settings": frozenset({"admin"}),  # per-queue ring cycle, target, language, retention
    "view_audit": frozenset({"admin"}),
    # QA: write reviews, see the review queue, settle disputes (within what call_filter shows)
    "review_calls": frozenset({"supervisor", "manager", "admin"}),
    "resolve_disputes": frozenset({"supervisor", "manager", "admin"}),
    "manage_qa_forms": frozenset({"manager", "admin"}),
    # group-wide figures (compliance, follow-up rates); supervisors get their queues' only
    "view_reports": frozenset({"supervisor", "manager", "admin"}),
}


def can(user: User, permission: str) -> bool:
    """True when the user's role grants `permission` (an unknown permission grants nothing)."""
    return user.active and user.role in PERMISSIONS.get(permission, frozenset())


def permissions_of(user: User) -> list[str]:
    """Every permission the user holds, sorted."""
    return sorted(name for name in PERMISSIONS if can(user, name))


def call_filter(user: User, *, whole_history: bool = False) -> ColumnElement[bool]:
    """A condition on `Call` that keeps exactly the calls this user may see.

    agent: calls the agent answered, or on which the agent's phone rang (any attempt);
    supervisor: calls of the supervisor's queues; manager and admin: every call;
    anyone else (inactive, unknown role, agent without an agent name): none.

    The agent's condition comes in two forms that keep the same calls. By default each
    candidate call looks up its own attempts: quick when the query also narrows the calls (a
    time window, or an order with a limit, which reads the newest calls first), and its cost
    does not grow with the agent's history. `whole_history=True` instead gathers the agent's
    calls from the agent indexes: quick for counting over all of an agent's history, where
    looking up every call in the table would read the whole table.
    """
    if not user.active:
        return false()
    if user.role in PERMISSIONS["view_all_calls"]:
        return true()
    if user.role == "agent" and user.agent_name:
        answered = Call.agent_id == _agent_ids(user)
        if whole_history:
            rang = select(CallAttempt.call_pk).where(CallAttempt.agent_id == _agent_ids(user))
            return or_(answered, Call.id.in_(rang))
        return or_(answered, _rang(user))
    if user.role == "supervisor" and user.queues:
        return Call.queue_id.in_(select(Queue.id).where(Queue.name.in_(list(user.queues))))
    return false()


def _agent_ids(user: User) -> ColumnElement[int]:
    return select(Agent.id).where(Agent.name == user.agent_name).scalar_subquery()


def _rang(user: User) -> ColumnElement[bool]:
    """The call rang the user's agent (one of its own attempts, looked up per call)."""
    return exists().where(CallAttempt.call_pk == Call.id, CallAttempt.agent_id == _agent_ids(user))


def own_work_filter(user: User) -> ColumnElement[bool]:
    """A condition on `Call` for reviews and follow-ups: an agent's own work only.

    agent: calls the agent answered, plus unanswered calls that rang the agent (nobody else
    owns their follow-up); not calls another agent answered after ringing this one.
    Everyone else: `call_filter`.
    """
    if user.active and user.role == "agent" and user.agent_name:
        return or_(
            Call.agent_id == _agent_ids(user),
            and_(Call.agent_id.is_(None), _rang(user)),
        )
    return call_filter(user)


def is_calls_agent(user: User, call: Call) -> bool:
    """True when the user is the agent who answered the call (who may answer its reviews)."""
    return (
        user.active
        and user.role == "agent"
        and bool(user.agent_name)
        and call.agent is not None
        and call.agent.name == user.agent_name
    )


def report_queues(user: User) -> list[str] | None:
    """The queues whose figures a user's reports cover: None = every queue (managers)."""
    if user.role in PERMISSIONS["view_all_calls"]:
        return None
    if user.role == "supervisor":
        return sorted(user.queues)
    return []
