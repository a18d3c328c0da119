"""Benchmark: compliance report time on 10,000 vs 1,000,000 calls (SQLite and PostgreSQL).

Both tables hold the same hotline traffic (about 357 calls a day); the big one simply keeps
100x more history (7.7 years instead of 4 weeks). A report over the last month or week reads
the same calls in both, so with the started_at index it must cost about the same: the goal is
big/small <= 3x. The unbounded report (all history) is timed too, to show what the index saves.

    .venv/bin/python benchmarks/reports.py [--sizes 10000 1000000] [--databases sqlite postgresql]

Prints JSON. Creates and drops its own SQLite file and PostgreSQL database.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# benchmarks/transcription.py would shadow the transcription package: import from the root
ROOT = Path(__file__).resolve().parent.parent
sys.path[:1] = [str(ROOT)]

import sqlalchemy
from sqlalchemy import Engine, create_engine, event, insert, text

from analytics.compliance import compliance_report
from cli.models import load_all_models
from core import migrate
from core.db import make_engine, make_sessionmaker, session_scope
from core.settings import Settings
from telephony.models import Agent, Call, Queue
from telephony.rings import rings_for, within_target

SMALL_DAYS = 28  # the small table: four weeks of traffic
END = datetime(2026, 11, 30, 16, tzinfo=UTC)  # midnight in Asia/Shanghai
CHUNK = 10_000
TZ = "Asia/Shanghai"
# name, share of calls, ring cycle override, answer target override
QUEUES = [
    ("hotline", 0.60, None, None),
    ("sales", 0.20, None, None),
    ("parts", 0.10, None, 4),
    ("warranty", 0.05, 3.0, None),
]
AGENTS = 24


def generate(size: int, per_day: float, seed: int = 7) -> Iterator[list[dict[str, Any]]]:
    """`size` calls in time order ending at END, `per_day` a day, in chunks of rows."""
    rng = random.Random(seed)
    days = math.ceil(size / per_day)
    start = END - timedelta(days=days)
    chunk: list[dict[str, Any]] = []
    made = 0
    for day in range(days):
        today = min(round(per_day * (day + 1)), size) - made
        base = start + timedelta(days=day)
        # office hours 08:00-20:00 Shanghai (00:00-12:00 UTC), a few calls at night
        offsets = sorted(
            rng.uniform(0, 12 * 3600) if rng.random() < 0.95 else rng.uniform(12 * 3600, 86400)
            for _ in range(today)
        )
        for offset in offsets:
            chunk.append(synthetic_call(rng, made, base + timedelta(seconds=offset)))
            made += 1
            if len(chunk) == CHUNK:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def synthetic_call(rng: random.Random, n: int, started: datetime) -> dict[str, Any]:
    """One call with realistic shares: 90% answered, skewed ring times, some short abandons."""
    pick = rng.random()
    queue_id: int | None = None
    cycle, target = 5.0, 3
    for index, (_, share, q_cycle, q_target) in enumerate(QUEUES, start=1):
        if pick < share:
            queue_id = index
            cycle, target = q_cycle or cycle, q_target or target
            break
        pick -= share
    outcome = rng.random()
    answered, abandoned = outcome < 0.90, 0.90 <= outcome < 0.99
    ring = min(120.0, rng.lognormvariate(math.log(6.0), 0.7)) if answered else None
    wait = ring if answered else min(300.0, rng.lognormvariate(math.log(12.0), 1.0))
    talk = min(3600.0, rng.lognormvariate(math.log(180.0), 0.7)) if answered else None
    ended = started + timedelta(seconds=(wait or 0) + (talk or 0))
    return {
        "call_id": f"b{n}",
        "uniqueid": f"u{n}",
        "source": "ami",
        "started_at": started,
        "ended_at": ended,
        "direction": "inbound" if rng.random() < 0.97 else "outbound",
        "queue_id": queue_id,
        "caller_number": f"139{rng.randrange(10**8):08d}",
        "caller_name": None,
        "dialed_number": "4008000000",
        "answered": answered,
        "agent_id": rng.randrange(1, AGENTS + 1) if answered else None,
        "answered_at": started + timedelta(seconds=ring) if ring is not None else None,
        "ring_to_answer_s": None if ring is None else round(ring, 3),
        "rings": None if ring is None else rings_for(ring, cycle),
        "answered_within_target": None if ring is None else within_target(ring, cycle, target),
        "abandoned": abandoned,
        "wait_s": round(wait, 3) if wait is not None else None,
        "talk_s": None if talk is None else round(talk, 3),
        "recording_mixed": None,
        "recording_customer": None,
        "recording_agent": None,
        "complete": True,
        "updated_at": ended,
    }


def load(url: str, size: int, per_day: float) -> float:
    """Migrate, fill and analyze a database; returns the seconds the load took."""
    load_all_models()
    migrate.upgrade(url)
    engine = make_engine(url)
    began = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(
            insert(Queue),
            [
                {
                    "id": i,
                    "name": name,
                    "ring_cycle_s": cycle,
                    "answer_target_rings": target,
                    "created_at": END,
                }
                for i, (name, _, cycle, target) in enumerate(QUEUES, start=1)
            ],
        )
        conn.execute(
            insert(Agent),
            [{"id": i, "name": f"Agent {i:02d}", "created_at": END} for i in range(1, AGENTS + 1)],
        )
    for chunk in generate(size, per_day):
        with engine.begin() as conn:
            conn.execute(insert(Call), chunk)
    if url.startswith("sqlite"):
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    else:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE calls"))
    engine.dispose()
    return time.perf_counter() - began


def plan_of(
    engine: Engine,
    session_run: Callable[[], None],
    pick: Callable[[str], bool] = lambda statement: "GROUP BY" in statement,
) -> list[str]:
    """The database's plan of the last query `session_run` sends that `pick` accepts (by
    default the report query)."""
    seen: list[tuple[str, Any]] = []

    def capture(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        session_run()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    statement, params = next((s, p) for s, p in reversed(seen) if pick(s))
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(prefix + statement, params)
        rows = cursor.fetchall()
    finally:
        raw.close()
    return [" | ".join(str(v) for v in row) if len(row) > 1 else str(row[0]) for row in rows]


def measure(url: str, runs: int) -> dict[str, Any]:
    """Median seconds of the report by queue, day and hour over the last month and week."""
    settings = Settings(_env_file=None, database_url=url)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    ranges = {
        "month": (END - timedelta(days=SMALL_DAYS), END),
        "week": (END - timedelta(days=7), END),
        "all": (None, None),
    }
    out: dict[str, Any] = {}
    for range_name, (since, until) in ranges.items():
        for by in ("queue", "day", "hour"):
            tz = None if by == "queue" else TZ

            def once(
                by: str = by, tz: str | None = tz, since: Any = since, until: Any = until
            ) -> int:
                with session_scope(factory) as session:
                    report = compliance_report(
                        db_session=session,
                        settings=settings,
                        by=by,
                        since=since,
                        until=until,
                        tz=tz,
                    )
                return sum(row.offered for row in report.rows)

            offered = once()  # warm-up, and the calls the report counted
            times = []
            for _ in range(runs if range_name != "all" else max(3, runs // 2)):
                began = time.perf_counter()
                once()
                times.append(time.perf_counter() - began)
            out[f"{range_name}/{by}"] = {
                "median_ms": round(statistics.median(times) * 1000, 2),
                "min_ms": round(min(times) * 1000, 2),
                "offered": offered,
            }

    def month_by_day() -> None:
        with session_scope(factory) as session:
            compliance_report(
                db_session=session,
                settings=settings,
                by="day",
                tz=TZ,
                since=ranges["month"][0],
                until=ranges["month"][1],
            )

    out["plan_month_by_day"] = plan_of(engine, month_by_day)
    engine.dispose()
    return out


def sqlite_url(workdir: Path, size: int) -> str:
    return f"sqlite:///{workdir / f'bench-{size}.db'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[10_000, 1_000_000])
    parser.add_argument(
        "--databases", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"]
    )
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/")
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    small, large = args.sizes
    per_day = small / SMALL_DAYS
    result: dict[str, Any] = {
        "sizes": [small, large],
        "calls_per_day": round(per_day, 1),
        "history_days": {str(n): math.ceil(n / per_day) for n in (small, large)},
        "runs": args.runs,
        "python": platform.python_version(),
        "sqlalchemy": sqlalchemy.__version__,
        "cpus": os.cpu_count(),
    }
    workdir = Path(tempfile.mkdtemp(prefix="callscope-bench-"))
    admin = create_engine(args.pg_url.rstrip("/") + "/postgres", isolation_level="AUTOCOMMIT")
    try:
        for database in args.databases:
            figures: dict[str, Any] = {}
            for size in (small, large):
                if database == "sqlite":
                    url = sqlite_url(workdir, size)
                else:
                    name = f"callscope_bench_{os.getpid()}_{size}"
                    with admin.connect() as conn:
                        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
                        conn.execute(text(f'CREATE DATABASE "{name}"'))
                    url = args.pg_url.rstrip("/") + f"/{name}"
                    with admin.connect() as conn:
                        version = conn.execute(text("SHOW server_version")).scalar()
                    result["postgresql_version"] = version
                try:
                    print(f"{database}: loading {size} calls", file=sys.stderr)
                    load_s = load(url, size, per_day)
                    print(f"{database}: timing {size} calls", file=sys.stderr)
                    figures[str(size)] = {"load_s": round(load_s, 1), **measure(url, args.runs)}
                finally:
                    if database == "postgresql":
                        with admin.connect() as conn:
                            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                    else:
                        for suffix in ("", "-wal", "-shm"):
                            Path(f"{workdir / f'bench-{size}.db'}{suffix}").unlink(missing_ok=True)
            big, little = figures[str(large)], figures[str(small)]
            figures["ratio_large_over_small"] = {
                key: round(big[key]["median_ms"] / little[key]["median_ms"], 2)
                for key in little
                if isinstance(little[key], dict) and "median_ms" in little[key]
            }
            result[database] = figures
            if database == "sqlite":
                result["sqlite_version"] = __import__("sqlite3").sqlite_version
    finally:
        admin.dispose()
        workdir.rmdir()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
