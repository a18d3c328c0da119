"""AMI ingest throughput: simulator -> connector -> database, next to asterisk-ami parse-only.

Builds a hotline day from the golden capture (re-timed, re-numbered calls), replays it as fast
as the reader takes it over TCP on loopback, and measures in one run:

- parse_only: the stock `asterisk.ami.AMIClient` receiving and parsing every event (its own
  `Event.read`), doing nothing else;
- connector: `callscope connect`'s Connector reading, filtering, tracking and committing
  events and calls into a fresh database.

Prints JSON. Usage: python benchmarks/ami_ingest.py [--calls 1500] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

# benchmarks/transcription.py would shadow the transcription package: import from the root
ROOT = Path(__file__).resolve().parent.parent
sys.path[:1] = [str(ROOT)]

from asterisk.ami import AMIClient, SimpleAction
from sqlalchemy import func, select

from cli.models import load_all_models
from core import migrate
from core.db import make_engine, make_sessionmaker, session_scope
from core.settings import Settings
from telephony.connector import Connector
from telephony.events import is_tracked
from telephony.models import Call
from telephony.simulator import SimulatorOptions
from telephony.simulator_thread import SimulatorThread
from telephony.trace import read_trace
from telephony.tracegen import DayOptions, make_trace_day

GOLDEN = ROOT / "tests" / "fixtures" / "ami-traces" / "golden.ami"


def build_day(calls: int, workdir: Path) -> Path:
    day = make_trace_day(read_trace(GOLDEN), DayOptions(calls=calls, seed=7, allow_overlap=True))
    path = workdir / "day.ami"
    day.write(path, workdir / "day.json")
    return path


def parse_only(sim: SimulatorThread, total: int) -> float:
    """Seconds the stock asterisk-ami client takes to receive and parse `total` events."""
    seen = 0
    done = threading.Event()

    def on_event(event: object, source: object) -> None:
        nonlocal seen
        seen += 1
        if seen >= total:
            done.set()

    client = AMIClient(address="127.0.0.1", port=sim.port, timeout=10)
    client.add_event_listener(on_event)
    started = time.perf_counter()
    client.login(username="callscope", secret="callscope")
    if not done.wait(600):
        raise RuntimeError(f"parse-only client saw {seen} of {total} events")
    elapsed = time.perf_counter() - started
    client.send_action(SimpleAction("Logoff"))
    client.disconnect()
    return elapsed


def connector_run(sim: SimulatorThread, url: str, tracked: int) -> tuple[float, int]:
    """Seconds until every tracked event and every call is committed; calls stored."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=url,
        ami_port=sim.port,
        ami_username="callscope",
        ami_secret="callscope",
    )
    factory = make_sessionmaker(make_engine(url))
    connector = Connector(settings, factory)
    thread = threading.Thread(target=connector.run, daemon=True)
    started = time.perf_counter()
    thread.start()
    # every tracked event of the day plus the resync answers (a few QueueMember events)
    while connector.writer.stats.events < tracked:
        time.sleep(0.01)
        if time.perf_counter() - started > 600:
            raise RuntimeError(f"connector committed {connector.writer.stats.events} events")
    connector.writer.wait_idle(60)
    elapsed = time.perf_counter() - started
    connector.stop()
    thread.join(30)
    with session_scope(factory) as session:
        calls = int(session.scalar(select(func.count(Call.id))) or 0)
    return elapsed, calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1500, help="call blocks in the day")
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    args = parser.parse_args()
    load_all_models()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        trace = build_day(args.calls, workdir)
        packets = read_trace(trace)
        total = len(packets)
        tracked = sum(is_tracked(p.name, dict(p.headers)) for p in packets)
        url = args.database_url or f"sqlite:///{workdir / 'ingest.db'}"
        migrate.upgrade(url)
        options = SimulatorOptions(port=0, speed=0, replay_per_client=True)
        with SimulatorThread(packets, options) as sim:
            parse_s = parse_only(sim, total)
            ingest_s, calls = connector_run(sim, url, tracked)
    result = {
        "events": total,
        "tracked_events": tracked,
        "calls": calls,
        "database": url.split(":", 1)[0],
        "parse_only": {"seconds": round(parse_s, 3), "events_per_s": round(total / parse_s)},
        "connector": {"seconds": round(ingest_s, 3), "events_per_s": round(total / ingest_s)},
        "connector_vs_parse_only": round(parse_s / ingest_s, 2),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
