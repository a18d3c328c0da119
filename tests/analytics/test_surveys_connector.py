"""IVR surveys and callbacks through the real connector: AMI over TCP from the PBX simulator."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from analytics.flags import SURVEY_DISSATISFIED
from analytics.models import Flag, FollowUp
from analytics.surveys import callbacks, ivr
from analytics.surveys.models import CallbackItem, SurveyInput, SurveyResponse
from core.db import session_scope
from core.settings import Settings
from telephony.connector import Connector, EventWriter
from telephony.models import Call
from telephony.simulator import SimulatorOptions
from telephony.simulator_thread import SimulatorThread
from telephony.trace import AmiPacket, parse_packet, read_trace, serialize
from tests.conftest import TRACES
from tests.telephony.golden import read_events
from tests.telephony.test_connector import finish, run_in_thread, wait_for

GOLDEN = read_trace(TRACES / "golden.ami")
COMPLAINT = "1795332025.1324"  # Alice Kim answered on ring 1; caller 13900080000
ABANDONED = "1795331957.1306"  # gave up in the hotline queue after 7 s; caller 13900040000
NEXT_CALL = "1795332048.1328"


def packet(name: str, headers: Sequence[tuple[str, str]]) -> AmiPacket:
    """An AMI event packet as Asterisk writes it."""
    return parse_packet(serialize([("Event", name), *headers]))


def survey_event(ts: float, question: str, score: str, call: str = COMPLAINT) -> AmiPacket:
    """What `UserEvent(CallscopeSurvey,Call: ...,Question: n,Score: d)` sends from the
    caller's channel after the agent hung up (see docs/surveys.md)."""
    return packet(
        "UserEvent",
        [
            ("Privilege", "user,all"),
            ("Timestamp", f"{ts:.6f}"),
            ("Channel", "Local/hotline@inbound-000002a5;1"),
            ("Uniqueid", COMPLAINT),
            ("Linkedid", COMPLAINT),
            ("UserEvent", "CallscopeSurvey"),
            ("Call", call),
            ("Question", question),
            ("Score", score),
        ],
    )


def connector_with_hook(settings: Settings, factory: sessionmaker[Session], port: int) -> Connector:
    merged = settings.model_copy(
        update={
            "ami_port": port,
            "ami_username": "callscope",
            "ami_secret": "callscope",
            "ami_ping_interval_s": 0.2,
        }
    )

    def hook(call_pks: Sequence[int]) -> None:
        ivr.after_calls_committed(call_pks, session_factory=factory, settings=merged)

    return Connector(merged, factory, on_calls_committed=hook)


def count(factory: sessionmaker[Session], model: type, **where: object) -> int:
    with session_scope(factory) as session:
        stmt = select(func.count()).select_from(model)
        for key, value in where.items():
            stmt = stmt.where(getattr(model, key) == value)
        return int(session.scalar(stmt) or 0)


def test_ivr_survey_user_events_land_on_the_judged_call(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    cut = next(
        i for i, p in enumerate(GOLDEN) if p.name == "Newchannel" and p.get("Linkedid") == NEXT_CALL
    )
    t = 1795332048.2
    answers = [
        survey_event(t + 0.1, "1", "4"),
        survey_event(t + 0.2, "2", "5"),
        survey_event(t + 0.3, "3", "3"),
        survey_event(t + 0.4, "4", "1"),  # agent attitude: dissatisfied
        survey_event(t + 0.5, "5", "2"),
        survey_event(t + 0.6, "6", "7"),  # a key outside 1-5
        survey_event(t + 0.7, "6", "4"),  # ... pressed again correctly
        survey_event(t + 0.8, "7", "2"),  # would recommend: no
        survey_event(t + 0.9, "1", "5", call="1795000000.9999"),  # a call that does not exist
    ]
    duplicate = answers[1]
    trace = [*GOLDEN[:cut], *answers, duplicate, *GOLDEN[cut:]]
    with SimulatorThread(trace, SimulatorOptions(port=0, speed=0)) as sim:
        connector = connector_with_hook(settings, session_factory, sim.port)
        thread = run_in_thread(connector)
        assert sim.wait_done(30)
        wait_for(lambda: count(session_factory, Call) == 13, what="13 calls")
        wait_for(lambda: count(session_factory, SurveyInput) == 9, what="every survey event taken")
        finish(connector, thread)
    assert connector.writer.stats.duplicates >= 1  # the repeated UserEvent never got through
    with session_scope(session_factory) as session:
        (response,) = session.scalars(select(SurveyResponse))
        call = session.get(Call, response.call_pk)
        assert call is not None and call.call_id == COMPLAINT
        assert response.source == "ivr"
        assert response.scores() == {
            "overall": 4,
            "reach_speed": 5,
            "ivr_menu": 3,
            "agent_attitude": 1,
            "agent_resolution": 2,
            "outcome": 4,
        }
        assert response.would_recommend is False
        rejected = {
            r.call_ref: r.reason
            for r in session.scalars(select(SurveyInput).where(SurveyInput.status == "rejected"))
        }
        assert rejected == {
            COMPLAINT: "outcome: keypress 7 is outside 1-5",
            "1795000000.9999": "no call '1795000000.9999' is stored",
        }
        # the low answers flag the judged call and open its follow-up
        flag = session.scalar(
            select(Flag).where(Flag.call_pk == call.id, Flag.rule == SURVEY_DISSATISFIED)
        )
        assert flag is not None and "agent attitude 1/5" in flag.reason
        followup = session.scalar(select(FollowUp).where(FollowUp.call_pk == call.id))
        assert followup is not None and followup.status == "open"
        assert "survey:" in followup.reason and followup.number == "13900080000"
        # a second pass over the event log adds nothing
        again = ivr.ingest_ivr_events(db_session=session, settings=settings)
        assert (again.accepted, again.rejected) == (0, 0)
    assert count(session_factory, SurveyInput) == 9
    assert count(session_factory, SurveyResponse) == 1


def outbound_callback(number: str, t: float) -> list[AmiPacket]:
    """Alice dials a customer from her phone, talks a minute and hangs up (MixMonitor on)."""
    own = f"{int(t)}.2001"
    trunk = f"{int(t)}.2002"
    agent_chan = "Local/agent1@agents-00000900;1"
    trunk_chan = "PJSIP/trunk-00000901"

    def on(chan: str, uid: str, ts: float, *more: tuple[str, str]) -> list[tuple[str, str]]:
        return [
            ("Timestamp", f"{ts:.6f}"),
            ("Channel", chan),
            ("Uniqueid", uid),
            ("Linkedid", own),
            *more,
        ]

    return [
        packet(
            "QueueMember",
            [
                ("Queue", "hotline"),
                ("Name", "Alice Kim"),
                ("Location", "Local/agent1@agents/n"),
                ("StateInterface", "Custom:agent1"),
            ],
        ),
        packet("Newchannel", on(agent_chan, own, t, ("CallerIDNum", "agent1"), ("Exten", number))),
        packet(
            "VarSet",
            on(
                agent_chan,
                own,
                t + 0.01,
                ("Variable", "MIXMONITOR_FILENAME"),
                ("Value", f"/opt/asterisk/var/spool/asterisk/monitor/{own}.wav"),
            ),
        ),
        packet(
            "DialBegin",
            on(
                agent_chan,
                own,
                t + 0.1,
                ("DestChannel", trunk_chan),
                ("DestUniqueid", trunk),
                ("DestCallerIDNum", number),
                ("DialString", number),
            ),
        ),
        packet("Newchannel", on(trunk_chan, trunk, t + 0.1)),
        packet(
            "DialEnd",
            on(agent_chan, own, t + 6, ("DestUniqueid", trunk), ("DialStatus", "ANSWER")),
        ),
        packet("Hangup", on(trunk_chan, trunk, t + 66, ("Cause", "16"))),
        packet("Hangup", on(agent_chan, own, t + 66, ("Cause", "16"))),
    ]


def test_an_outbound_call_seen_by_the_connector_completes_the_callback_item(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    writer = EventWriter(session_factory, settings)
    writer.start()
    for event in read_events(TRACES / "golden.ami"):
        writer.put(event)
    writer.stop()
    with session_scope(session_factory) as session:
        items = callbacks.build_callbacks(
            db_session=session,
            day=date(2026, 11, 22),
            settings=settings,
            options=callbacks.CallbackOptions(sample=2),
            tz="UTC",
        )
        by_call = {session.get(Call, i.call_pk).call_id: i for i in items}  # type: ignore[union-attr]
        item = by_call[ABANDONED]
        assert (item.reason, item.status, item.number) == ("abandoned", "open", "13900040000")
        # nobody answered: it goes to an agent whose phone rang for it
        assert item.agent_id is not None
        assert sum(i.reason == "sample" for i in items) == 2
        item_id = item.id
    trace = outbound_callback("013900040000", 1795340000.0)  # the trunk prefix differs
    with SimulatorThread(trace, SimulatorOptions(port=0, speed=0)) as sim:
        connector = connector_with_hook(settings, session_factory, sim.port)
        thread = run_in_thread(connector)
        assert sim.wait_done(30)
        wait_for(
            lambda: count(session_factory, CallbackItem, id=item_id, status="done") == 1,
            what="the callback item completed",
        )
        finish(connector, thread)
    with session_scope(session_factory) as session:
        done = session.get(CallbackItem, item_id)
        assert done is not None and done.closed_by_call_pk is not None
        callback = session.get(Call, done.closed_by_call_pk)
        assert callback is not None and callback.direction == "outbound"
        assert callback.dialed_number == "013900040000"
        assert done.closed_at == callback.started_at
        # the other items are untouched
        others = session.scalars(select(CallbackItem).where(CallbackItem.id != item_id))
        assert {o.status for o in others} == {"open"}


def test_callback_list_is_reproducible(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    writer = EventWriter(session_factory, settings)
    writer.start()
    for event in read_events(TRACES / "golden.ami"):
        writer.put(event)
    writer.stop()
    options = callbacks.CallbackOptions(sample=3)
    with session_scope(session_factory) as session:
        first = [
            (i.call_pk, i.reason)
            for i in callbacks.build_callbacks(
                db_session=session, day=date(2026, 11, 22), settings=settings, options=options
            )
        ]
        session.execute(CallbackItem.__table__.delete())
        second = [
            (i.call_pk, i.reason)
            for i in callbacks.build_callbacks(
                db_session=session, day=date(2026, 11, 22), settings=settings, options=options
            )
        ]
        third = callbacks.build_callbacks(
            db_session=session, day=date(2026, 11, 22), settings=settings, options=options
        )
    assert first == second
    assert len(third) == len(first)  # building again adds nothing
    assert sorted(r for _, r in first) == ["abandoned"] * 3 + ["sample"] * 3
