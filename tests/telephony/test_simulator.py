"""The PBX simulator, driven by real AMI clients over TCP, replaying the golden capture."""

from __future__ import annotations

import contextlib
import math
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from asterisk.ami import AMIClient, Response, SimpleAction

from telephony.simulator import Faults, SimulatorOptions
from telephony.simulator_thread import SimulatorThread
from telephony.trace import (
    BANNER,
    END,
    AmiPacket,
    parse_packet,
    read_trace,
    serialize,
)
from tests.conftest import TRACES

USER, SECRET = "callscope", "callscope"


@pytest.fixture(scope="module")
def golden() -> list[AmiPacket]:
    return read_trace(TRACES / "golden.ami")


@pytest.fixture
def start_sim(golden: list[AmiPacket]) -> Iterator[Callable[..., SimulatorThread]]:
    """Start a simulator on a free port (speed 0 unless told); stopped after the test."""
    started: list[SimulatorThread] = []

    def start(events: list[AmiPacket] | None = None, **options: Any) -> SimulatorThread:
        options.setdefault("speed", 0)
        sim = SimulatorThread(events or golden, SimulatorOptions(port=0, **options))
        sim.start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


class Listener:
    """The asterisk-ami library's AMIClient, collecting what it receives."""

    def __init__(self, port: int) -> None:
        self.client = AMIClient(address="127.0.0.1", port=port, timeout=10)
        self.events: list[Any] = []
        self.unknown: list[str] = []
        self.closed = threading.Event()
        self._cond = threading.Condition()
        self.client.add_event_listener(self._on_event)
        self.client.add_listener(
            on_disconnect=lambda source, error=None: self.closed.set(),
            on_unknown=lambda source, pack: self.unknown.append(pack),
        )

    def _on_event(self, event: Any, source: Any) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def login(self, secret: str = SECRET) -> Response:
        response = self.client.login(username=USER, secret=secret).response
        assert response is not None, "no answer to Login"
        return response

    def action(self, name: str, **keys: str) -> Response:
        response = self.client.send_action(SimpleAction(name, **keys)).response
        assert response is not None, f"no answer to {name}"
        return response

    def wait_for(self, predicate: Callable[[list[Any]], bool], timeout: float = 10.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self.events), timeout)

    def replayed(self) -> list[Any]:
        """Events of the replay (no action was sent): all but FullyBooted."""
        return [e for e in self.events if e.name != "FullyBooted"]

    def listing(self, action_id: str, last: str) -> list[Any]:
        assert self.wait_for(lambda ev: any(e.name == last for e in ev if _aid(e) == action_id))
        return [e for e in self.events if _aid(e) == action_id]

    def close(self) -> None:
        # a blocked recv() does not notice close() from another thread: shut the socket down
        with contextlib.suppress(OSError):
            self.client._socket.shutdown(socket.SHUT_RDWR)
        self.client.disconnect()


def _aid(event: Any) -> str | None:
    return event.keys.get("ActionID")


class Raw:
    """A plain socket speaking AMI, for byte-exact checks."""

    def __init__(self, port: int, rcvbuf: int | None = None) -> None:
        self.sock = socket.socket()
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(5)
        self.sock.connect(("127.0.0.1", port))
        self.buf = b""

    def banner(self) -> bytes:
        while b"\r\n" not in self.buf:
            self.recv()
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line + b"\r\n"

    def recv(self) -> None:
        data = self.sock.recv(1 << 16)
        if not data:
            raise EOFError
        self.buf += data

    def send(self, action: str, **headers: str) -> None:
        self.sock.sendall(serialize([("Action", action), *headers.items()]))

    def packet(self) -> AmiPacket:
        while END not in self.buf:
            self.recv()
        raw, _, self.buf = self.buf.partition(END)
        return parse_packet(raw + END, strict=False)

    def login(self, secret: str = SECRET, **headers: str) -> AmiPacket:
        assert self.banner() == BANNER
        self.send("Login", Username=USER, Secret=secret, **headers)
        return self.packet()

    def read_until_closed(self) -> bytes:
        with pytest.raises(EOFError):
            while True:
                self.recv()
        data, self.buf = self.buf, b""
        return data

    def read_bytes(self, n: int) -> bytes:
        while len(self.buf) < n:
            self.recv()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def close(self) -> None:
        self.sock.close()


def _wire(events: list[AmiPacket]) -> bytes:
    return b"".join(e.raw for e in events)


# ---------------------------------------------------------------------- the capture
def test_read_trace_keeps_only_the_events(golden: list[AmiPacket]) -> None:
    data = (TRACES / "golden.ami").read_bytes()
    assert len(golden) == 1663  # 1666 packets: minus Login response, FullyBooted, Goodbye
    assert golden[0].name == "SuccessfulAuth" and golden[-1].name == "DeviceStateChange"
    assert all(e.is_event and e.name != "FullyBooted" for e in golden)
    assert _wire(golden) in data  # byte for byte, in order
    newchannel = golden[2]
    assert newchannel.get("uniqueid") == "1795331836.1288"
    assert newchannel.timestamp == pytest.approx(1795331836.860068)
    assert serialize(newchannel.headers) == newchannel.raw
    # an event that carries a Response header is still an event
    originate = next(e for e in golden if e.name == "OriginateResponse")
    assert originate.is_event and originate.get("Response") in ("Success", "Failure")


# ---------------------------------------------------------------------- protocol
def test_a_client_receives_fullybooted_and_every_event_in_order(
    start_sim: Callable[..., SimulatorThread], golden: list[AmiPacket]
) -> None:
    sim = start_sim()
    client = Listener(sim.port)
    response = client.login()
    assert response.status == "Success"
    assert response.keys["Message"] == "Authentication accepted"
    assert client.wait_for(lambda ev: len(ev) == len(golden) + 1)
    booted = client.events[0]
    assert booted.name == "FullyBooted"
    assert booted.keys["Privilege"] == "system,all" and booted.keys["Status"] == "Fully Booted"
    assert sim.wait_done(10)
    received = client.events[1:]
    assert [e.name for e in received] == [e.name for e in golden]
    for got, sent in zip(received, golden, strict=True):
        assert got.keys == dict(sent.headers[1:])
    assert sim.server.stats.events_sent == len(golden)
    client.close()


def test_the_stream_is_byte_identical_to_the_capture(
    start_sim: Callable[..., SimulatorThread], golden: list[AmiPacket]
) -> None:
    sim = start_sim()
    raw = Raw(sim.port)
    assert raw.login(ActionID="drv-1").as_dict() == {
        "Response": "Success",
        "ActionID": "drv-1",
        "Message": "Authentication accepted",
    }
    assert raw.packet().name == "FullyBooted"
    assert raw.read_bytes(len(_wire(golden))) == _wire(golden)
    raw.close()


def test_ping_logoff_and_errors_echo_the_action_id(
    start_sim: Callable[..., SimulatorThread],
) -> None:
    sim = start_sim()
    raw = Raw(sim.port)
    assert raw.banner() == BANNER
    raw.send("Ping", ActionID="early")
    assert raw.packet().as_dict() == {
        "Response": "Error",
        "ActionID": "early",
        "Message": "Permission denied",
    }
    raw.send("Login", Username=USER, Secret=SECRET, Events="off")
    assert raw.packet().get("Message") == "Authentication accepted"
    raw.send("Ping", ActionID="ping-42")
    pong = raw.packet()
    assert [k for k, _ in pong.headers] == ["Response", "ActionID", "Ping", "Timestamp"]
    assert pong.get("ActionID") == "ping-42" and pong.get("Ping") == "Pong"
    assert abs(float(pong.get("Timestamp") or 0) - time.time()) < 5
    raw.send("Frobnicate", ActionID="x1")
    error = raw.packet()
    assert error.get("Response") == "Error" and error.get("ActionID") == "x1"
    assert (error.get("Message") or "").startswith("Invalid/unknown command: Frobnicate.")
    raw.send("Logoff", ActionID="bye")
    assert raw.packet().as_dict() == {
        "Response": "Goodbye",
        "ActionID": "bye",
        "Message": "Thanks for all the fish.",
    }
    assert raw.read_until_closed() == b""  # Events: off: nothing else was sent


def test_events_can_be_switched_on_after_login(
    start_sim: Callable[..., SimulatorThread], golden: list[AmiPacket]
) -> None:
    sim = start_sim()
    raw = Raw(sim.port)
    assert raw.login(Events="off").get("Message") == "Authentication accepted"
    raw.send("Events", EventMask="on", ActionID="ev")
    assert raw.packet().as_dict() == {"Response": "Success", "ActionID": "ev", "Events": "On"}
    assert raw.read_bytes(len(_wire(golden))) == _wire(golden)  # no FullyBooted: not a login
    raw.close()


def test_ping_through_the_ami_library(start_sim: Callable[..., SimulatorThread]) -> None:
    sim = start_sim()
    client = Listener(sim.port)
    client.login()
    pong = client.action("Ping", ActionID="lib-ping")
    assert pong.status == "Success"
    assert pong.keys["ActionID"] == "lib-ping" and pong.keys["Ping"] == "Pong"
    client.close()


def test_a_wrong_secret_is_refused_and_the_link_closed(
    start_sim: Callable[..., SimulatorThread],
) -> None:
    sim = start_sim()
    client = Listener(sim.port)
    response = client.login(secret="wrong")
    assert response.is_error()
    assert response.keys["Message"] == "Authentication failed"
    assert client.closed.wait(5), "the simulator must close the link like Asterisk"
    assert client.events == []
    assert sim.server.stats.failed_logins == 1 and sim.server.stats.events_sent == 0


def test_fail_next_logins_refuses_a_good_secret_once(
    start_sim: Callable[..., SimulatorThread],
) -> None:
    sim = start_sim(faults=Faults(fail_logins=1))
    first = Raw(sim.port)
    assert first.login().get("Message") == "Authentication failed"
    assert first.read_until_closed() == b""
    second = Raw(sim.port)
    assert second.login().get("Message") == "Authentication accepted"
    second.close()


def test_stop_says_shutdown(start_sim: Callable[..., SimulatorThread]) -> None:
    sim = start_sim()
    raw = Raw(sim.port)
    raw.login(Events="off")
    sim.stop()
    shutdown = parse_packet(raw.read_until_closed())
    assert shutdown.name == "Shutdown" and shutdown.get("Shutdown") == "Cleanly"


# ---------------------------------------------------------------------- timing
def _synthetic(gaps: list[float]) -> list[AmiPacket]:
    t = 1795331836.0
    events = []
    for n, gap in enumerate([0.0, *gaps]):
        t += gap
        events.append(
            parse_packet(
                serialize(
                    [("Event", "UserEvent"), ("Privilege", "user,all")]
                    + [("Timestamp", f"{t:.6f}"), ("UserEvent", f"tick-{n}")]
                )
            )
        )
    return events


def test_the_original_gaps_are_kept_scaled_by_speed(
    start_sim: Callable[..., SimulatorThread],
) -> None:
    sim = start_sim(_synthetic([1.0, 1.0, 1.0]), speed=5)  # 3 s of capture in 0.6 s
    client = Listener(sim.port)
    arrivals: list[float] = []
    client.client.add_event_listener(lambda event, source: arrivals.append(time.monotonic()))
    client.login()
    assert client.wait_for(lambda ev: len(ev) == 5)
    gaps = [b - a for a, b in zip(arrivals[1:], arrivals[2:], strict=False)]
    assert all(0.12 < gap < 0.5 for gap in gaps), gaps
    client.close()


def test_retime_moves_the_capture_to_now_and_keeps_its_spacing(
    start_sim: Callable[..., SimulatorThread], golden: list[AmiPacket]
) -> None:
    sim = start_sim(retime=True)
    raw = Raw(sim.port)
    raw.login()
    raw.packet()
    got = [raw.packet() for _ in golden]
    shift = (got[0].timestamp or 0) - (golden[0].timestamp or 0)
    assert abs((got[0].timestamp or 0) - time.time()) < 10
    for new, old in zip(got, golden, strict=True):
        assert new.name == old.name
        assert (new.timestamp or 0) - (old.timestamp or 0) == pytest.approx(shift, abs=2e-6)
    # ids moved with the clock, consistently
    assert got[2].get("Uniqueid") != golden[2].get("Uniqueid")
    assert got[2].get("Uniqueid") == got[2].get("Linkedid") == got[3].get("Linkedid")
    raw.close()


# ---------------------------------------------------------------------- live state
def _expected_channels(golden: list[AmiPacket], k: int) -> dict[str, dict[str, str]]:
    live: dict[str, dict[str, str]] = {}
    for event in golden[:k]:
        uid = event.get("Uniqueid") or ""
        if event.name == "Newchannel":
            live[uid] = {
                "Channel": event.get("Channel") or "",
                "Linkedid": event.get("Linkedid") or "",
                "created": event.get("Timestamp") or "",
                "BridgeId": "",
                "Application": "",
            }
        elif event.name == "Hangup":
            live.pop(uid, None)
        elif uid in live and event.name == "BridgeEnter":
            live[uid]["BridgeId"] = event.get("BridgeUniqueid") or ""
        elif uid in live and event.name == "BridgeLeave":
            live[uid]["BridgeId"] = ""
        elif uid in live and event.name == "Newexten":
            live[uid]["Application"] = event.get("Application") or ""
    return live


@pytest.mark.parametrize("k", [75, 1300])
def test_core_show_channels_mid_replay_lists_the_live_channels(
    start_sim: Callable[..., SimulatorThread], golden: list[AmiPacket], k: int
) -> None:
    sim = start_sim(faults=Faults(pause_at_index=k))
    client = Listener(sim.port)
    client.login()
    assert sim.wait_paused(10)
    assert client.wait_for(lambda ev: len(ev) == k + 1)  # FullyBooted + k events
    response = client.action("CoreShowChannels", ActionID="csc-1")
    assert response.keys["EventList"] == "start"
    assert response.keys["Message"] == "Channels will follow"
    listing = client.listing("csc-1", "CoreShowChannelsComplete")
    expected = _expected_channels(golden, k)
    assert expected, "pick an index where calls are up"
    channels = {e.keys["Uniqueid"]: e for e in listing if e.name == "CoreShowChannel"}
    assert list(channels) == list(expected)
    now = golden[k - 1].timestamp or 0
    for uid, exp in expected.items():
        keys = channels[uid].keys
        assert keys["Channel"] == exp["Channel"] and keys["Linkedid"] == exp["Linkedid"]
        assert keys["BridgeId"] == exp["BridgeId"]
        assert keys["Application"] == exp["Application"]
        seconds = int(now - float(exp["created"]))
        assert keys["Duration"] == f"00:{seconds // 60:02d}:{seconds % 60:02d}"
        assert "ChannelStateDesc" in keys and "CallerIDNum" in keys
    complete = listing[-1].keys
    assert complete["EventList"] == "Complete" and complete["ListItems"] == str(len(expected))
    assert any(exp["BridgeId"] for exp in expected.values()) == (k == 75)  # 75: talking
    sim.resume()
    assert sim.wait_done(10)
    client.close()


def test_a_listing_follows_the_events_already_sent(
    start_sim: Callable[..., SimulatorThread], golden: list[AmiPacket]
) -> None:
    # no pause: the replay runs ahead while the action is answered
    sim = start_sim(faults=Faults(pause_at_index=600))
    raw = Raw(sim.port)
    raw.login()
    raw.packet()
    assert sim.wait_paused(5)
    sim.resume()
    raw.send("CoreShowChannels", ActionID="now")
    before: list[AmiPacket] = []
    while (packet := raw.packet()).get("ActionID") != "now":
        before.append(packet)
    assert packet.get("Message") == "Channels will follow"
    listing = []
    while (packet := raw.packet()).name != "CoreShowChannelsComplete":
        listing.append(packet.get("Uniqueid"))
    assert len(before) >= 600 and [p.raw for p in before] == [p.raw for p in golden[: len(before)]]
    assert listing == list(_expected_channels(golden, len(before)))
    raw.close()


def test_queue_status_mid_replay_lists_members_and_waiting_callers(
    start_sim: Callable[..., SimulatorThread], golden: list[AmiPacket]
) -> None:
    k = 1310  # two callers wait in hotline (joined at 1255 and 1306; Alice answers at 1315)
    sim = start_sim(faults=Faults(pause_at_index=k))
    client = Listener(sim.port)
    client.login()
    assert sim.wait_paused(10)
    assert client.wait_for(lambda ev: len(ev) == k + 1)
    waiting: dict[str, AmiPacket] = {}
    latest: dict[tuple[str, str], AmiPacket] = {}
    for event in golden[:k]:
        if event.name == "QueueCallerJoin":
            waiting[event.get("Uniqueid") or ""] = event
        elif event.name in ("QueueCallerLeave", "QueueCallerAbandon"):
            waiting.pop(event.get("Uniqueid") or "", None)
        elif event.name == "QueueMemberStatus":
            latest[(event.get("Queue") or "", event.get("Interface") or "")] = event
    response = client.action("QueueStatus", ActionID="qs-1")
    assert response.keys["Message"] == "Queue status will follow"
    listing = client.listing("qs-1", "QueueStatusComplete")
    params = {e.keys["Queue"]: e.keys for e in listing if e.name == "QueueParams"}
    members = {
        (e.keys["Queue"], e.keys["Name"]): e.keys for e in listing if e.name == "QueueMember"
    }
    entries = [e.keys for e in listing if e.name == "QueueEntry"]
    assert set(params) == {"hotline", "sales"}
    assert set(members) == {
        ("hotline", "Alice Kim"),
        ("hotline", "Bob Li"),
        ("sales", "Chen Wei"),
        ("sales", "Park Jiwoo"),
    }
    alice = members[("hotline", "Alice Kim")]
    assert alice["Location"] == "Local/agent1@agents/n"
    assert alice["StateInterface"] == "Custom:agent1"
    for (queue, _), keys in members.items():
        seen = latest.get((queue, keys["Location"]))
        assert keys["Status"] == (seen.get("Status") if seen else "1")
    assert [e["Uniqueid"] for e in entries] == list(waiting) and len(entries) == 2
    assert [e["Position"] for e in entries] == ["1", "2"]
    assert entries[0]["CallerIDNum"] == "13900100000"
    assert params["hotline"]["Calls"] == "2" and params["sales"]["Calls"] == "0"
    answered = sum(
        1 for e in golden[:k] if e.name == "AgentConnect" and e.get("Queue") == "hotline"
    )
    assert params["hotline"]["Completed"] == str(answered)
    assert params["hotline"]["Abandoned"] == "1"
    assert listing[-1].keys["ListItems"] == str(len(listing) - 1)
    only_sales = client.listing(
        client.action("QueueStatus", ActionID="qs-2", Queue="sales").keys["ActionID"],
        "QueueStatusComplete",
    )
    assert {e.keys.get("Queue") for e in only_sales[:-1]} == {"sales"}
    sim.resume()
    client.close()


# ---------------------------------------------------------------------- sharing
def test_one_live_stream_a_late_client_gets_events_from_then_on(
    start_sim: Callable[..., SimulatorThread], golden: list[AmiPacket]
) -> None:
    k = 800
    sim = start_sim(faults=Faults(pause_at_index=k))
    early = Listener(sim.port)
    early.login()
    assert sim.wait_paused(10)
    late = Listener(sim.port)
    late.login()
    sim.resume()
    assert sim.wait_done(10)
    assert early.wait_for(lambda ev: len(ev) == len(golden) + 1)
    assert late.wait_for(lambda ev: len(ev) == len(golden) - k + 1)
    assert [e.keys.get("Timestamp") for e in late.events[1:]] == [
        e.get("Timestamp") for e in golden[k:]
    ]
    early.close()
    late.close()


# ---------------------------------------------------------------------- faults
def test_drop_after_n_events_then_a_reconnect_replays_again(
    start_sim: Callable[..., SimulatorThread], golden: list[AmiPacket]
) -> None:
    sim = start_sim(replay_per_client=True, faults=Faults(drop_after_events=100))
    first = Listener(sim.port)
    first.login()
    assert first.closed.wait(5), "the link should have been dropped"
    assert len(first.replayed()) == 100
    second = Listener(sim.port)  # the fault fired once: the next session gets everything
    second.login()
    assert second.wait_for(lambda ev: len(ev) == len(golden) + 1)
    assert sim.server.stats.dropped == 1
    second.close()


def test_a_drop_can_cut_a_packet_in_half(
    start_sim: Callable[..., SimulatorThread], golden: list[AmiPacket]
) -> None:
    sim = start_sim()
    sim.drop_after(10, mid_packet=True)
    raw = Raw(sim.port)
    raw.login()
    raw.packet()
    data = raw.read_until_closed()
    assert data == _wire(golden[:10]) + golden[10].raw[: len(golden[10].raw) // 2]


def test_drop_at_an_event_index_drops_every_session(
    start_sim: Callable[..., SimulatorThread], golden: list[AmiPacket]
) -> None:
    sim = start_sim(faults=Faults(pause_at_index=5, drop_at_index=500))
    a, b = Listener(sim.port), Listener(sim.port)
    a.login()
    assert sim.wait_paused(5)
    b.login()
    sim.resume()
    assert a.closed.wait(5) and b.closed.wait(5)
    assert len(a.replayed()) == 500 and len(b.replayed()) == 495


def test_refused_connections_are_closed_at_once_for_a_while(
    start_sim: Callable[..., SimulatorThread],
) -> None:
    sim = start_sim(faults=Faults(refuse_for_s=0.5))
    # the server accepts and resets at once: the reset may even beat connect() back to us
    with pytest.raises((EOFError, ConnectionResetError)):
        Raw(sim.port).banner()
    time.sleep(0.6)
    assert Raw(sim.port).banner() == BANNER
    assert sim.server.stats.refused == 1


def test_refusing_by_not_listening(start_sim: Callable[..., SimulatorThread]) -> None:
    sim = start_sim()
    port = sim.port
    sim.refuse_connections(0.5, "unlisten")
    with pytest.raises(ConnectionRefusedError):
        Raw(port)
    deadline = time.monotonic() + 5
    while True:
        try:
            raw = Raw(port)
            break
        except ConnectionRefusedError:
            assert time.monotonic() < deadline, "the port never came back"
            time.sleep(0.05)
    assert raw.banner() == BANNER


@pytest.mark.parametrize("kind", ["no_colon", "truncated", "invalid_utf8"])
def test_a_malformed_packet_arrives_between_intact_events(
    start_sim: Callable[..., SimulatorThread], golden: list[AmiPacket], kind: str
) -> None:
    k = 5
    sim = start_sim(faults=Faults(malformed_at_index=k, malformed_kind=kind))  # type: ignore[arg-type]
    raw = Raw(sim.port)
    raw.login()
    raw.packet()
    before, after = _wire(golden[:k]), _wire(golden[k:])
    assert raw.read_bytes(len(before)) == before
    while END not in raw.buf:
        raw.recv()
    bad, _, raw.buf = raw.buf.partition(END)
    assert raw.read_bytes(len(after)) == after
    if kind == "no_colon":
        assert all(b":" not in line for line in bad.split(b"\r\n"))
    elif kind == "invalid_utf8":
        assert bad.startswith(b"Event: UserEvent\r\n")
        with pytest.raises(UnicodeDecodeError):
            bad.decode("utf-8")
    else:
        assert golden[k].raw.startswith(bad) and len(bad) < len(golden[k].raw) - 4
    assert sim.server.stats.malformed_sent == 1
    raw.close()


def test_malformed_packets_do_not_stop_the_library_client(
    start_sim: Callable[..., SimulatorThread], golden: list[AmiPacket]
) -> None:
    sim = start_sim(faults=Faults(malformed_at_index=3, malformed_kind="no_colon"))
    client = Listener(sim.port)
    client.login()
    assert client.wait_for(lambda ev: len(ev) == len(golden) + 1)
    assert len(client.unknown) == 1 and "not an AMI packet" in client.unknown[0]
    assert [e.name for e in client.events[1:]] == [e.name for e in golden]
    client.close()


def _names_follow_the_capture(
    packets: list[AmiPacket], golden: list[AmiPacket], start: int
) -> bool:
    n = len(golden)
    return all(p.name == golden[(start + i) % n].name for i, p in enumerate(packets))


def test_a_slow_reader_holds_the_replay_back_without_buffering_everything(
    start_sim: Callable[..., SimulatorThread], golden: list[AmiPacket]
) -> None:
    sim = start_sim(
        loop=True,
        session_queue=2,
        batch_events=32,
        write_buffer_bytes=16 * 1024,
        socket_send_buffer=16 * 1024,
    )
    raw = Raw(sim.port, rcvbuf=8192)
    raw.login()
    raw.packet()

    def emitted() -> int:
        return sim.call(lambda: sim.server.shared_replay.emitted)

    def buffered() -> tuple[int, int, int]:
        """Events made but not yet written, batches queued, bytes in the transport buffer."""

        def probe() -> tuple[int, int, int]:
            server = sim.server
            (session,) = server.sessions
            transport = session.writer.transport
            pending = server.shared_replay.emitted - session.events_sent
            return pending, session.queue.qsize(), transport.get_write_buffer_size()

        return sim.call(probe)

    time.sleep(0.4)  # not reading
    first = emitted()
    time.sleep(0.3)
    assert emitted() == first, "the replay must wait for a reader that does not read"
    pending, queued, in_transport = buffered()
    assert queued <= 2 and pending <= (2 + 2) * 32  # the queue, one batch written, one offered
    assert in_transport <= 16 * 1024 + 32 * max(len(e.raw) for e in golden)
    got = [raw.packet() for _ in range(2 * len(golden))]  # reading again: it goes on, in order
    assert _names_follow_the_capture(got, golden, 0)
    assert emitted() > first
    raw.close()


def test_a_slow_reader_can_be_dropped_like_asterisk_does(
    start_sim: Callable[..., SimulatorThread], golden: list[AmiPacket]
) -> None:
    sim = start_sim(
        loop=True,
        slow_reader="disconnect",
        session_queue=2,
        batch_events=32,
        socket_send_buffer=16 * 1024,
    )
    raw = Raw(sim.port, rcvbuf=8192)
    raw.login()
    deadline = time.monotonic() + 5
    while sim.server.stats.slow_dropped == 0:
        assert time.monotonic() < deadline, "the slow session was never dropped"
        time.sleep(0.05)
    with pytest.raises(ConnectionResetError):  # aborted: a reset, not an orderly close
        raw.read_until_closed()
    assert sim.server.sessions == set()
    again = Raw(sim.port)  # the PBX went on: a new session gets the stream where it is
    again.login()
    assert again.packet().name == "FullyBooted"
    got = [again.packet() for _ in range(100)]
    assert got[0].raw != golden[0].raw  # not from the start...
    assert any(_names_follow_the_capture(got, golden, i) for i in range(len(golden)))
    again.close()


# ---------------------------------------------------------------------- looping
def test_looping_renumbers_every_pass_without_collisions(
    start_sim: Callable[..., SimulatorThread], golden: list[AmiPacket]
) -> None:
    n, passes = len(golden), 3
    sim = start_sim(loop=True, loop_gap_s=5)
    raw = Raw(sim.port)
    raw.login()
    raw.packet()
    got = [raw.packet() for _ in range(passes * n)]
    raw.close()
    span = math.ceil((golden[-1].timestamp or 0) - (golden[0].timestamp or 0) + 5)
    ids_by_pass: list[set[str]] = []
    bridges: list[str] = []
    channels: list[str] = []
    for p in range(passes):
        mapping: dict[str, str] = {}
        ids: set[str] = set()
        for new, old in zip(got[p * n : (p + 1) * n], golden, strict=True):
            assert new.name == old.name
            assert (new.timestamp or 0) - (old.timestamp or 0) == pytest.approx(p * span, abs=2e-6)
            for key in ("Uniqueid", "Linkedid", "DestUniqueid", "DestLinkedid"):
                before, after = old.get(key), new.get(key)
                if before and before != "<unknown>":
                    assert mapping.setdefault(before, after or "") == after  # consistent
                    ids.add(after or "")
            if new.name == "VarSet" and new.get("Variable") == "MIXMONITOR_FILENAME":
                assert (new.get("Value") or "").endswith(f"/{new.get('Uniqueid')}.wav")
            if new.name == "Newchannel":
                channels.append(new.get("Channel") or "")
            if new.name == "BridgeCreate":
                bridges.append(new.get("BridgeUniqueid") or "")
        assert len(set(mapping.values())) == len(mapping)  # one new id per old id
        assert (p == 0) == (mapping == {k: k for k in mapping})
        ids_by_pass.append(ids)
    for a in range(passes):
        for b in range(a + 1, passes):
            assert not ids_by_pass[a] & ids_by_pass[b]
    assert len(channels) == len(set(channels)) == 62 * passes
    assert len(bridges) == len(set(bridges)) == 10 * passes


# ---------------------------------------------------------------------- command line
def test_simulate_pbx_command_serves_the_trace(golden: list[AmiPacket]) -> None:
    from click.testing import CliRunner

    from cli.main import cli

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    args = ["simulate-pbx", "--trace", str(TRACES / "golden.ami"), "--port", str(port)]
    args += ["--speed", "0", "--exit-when-done", "--username", "u1", "--secret", "s1"]
    result: list[Any] = []
    runner = threading.Thread(target=lambda: result.append(CliRunner().invoke(cli, args)))
    runner.start()
    deadline = time.monotonic() + 10
    while True:
        try:
            raw = Raw(port)
            break
        except ConnectionRefusedError:
            assert time.monotonic() < deadline, "simulate-pbx did not listen"
            time.sleep(0.05)
    assert raw.banner() == BANNER
    raw.send("Login", Username="u1", Secret="s1")
    assert raw.packet().get("Message") == "Authentication accepted"
    assert raw.packet().name == "FullyBooted"
    assert raw.read_bytes(len(_wire(golden))) == _wire(golden)
    runner.join(10)
    assert result and result[0].exit_code == 0, result
    assert f"{len(golden)} events sent" in result[0].output
    assert parse_packet(raw.read_until_closed()).name == "Shutdown"
