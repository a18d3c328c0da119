"""Benchmark: API latency on 10,000 vs 1,000,000 calls (SQLite and PostgreSQL), over HTTP.

The same hotline traffic as benchmarks/reports.py (about 357 calls a day, with attempts and
transcript rows); the big database keeps 100x more history. uvicorn serves `create_app` in a
separate process on loopback; an httpx client times, one request at a time after a warm-up:

- list            GET /api/v1/calls?page_size=50                       (manager, no filter)
- list_filtered   ...&queue=hotline&answered=true&since=<7 days ago>   (manager)
- list_agent      GET /api/v1/calls?page_size=50&since=<7 days ago>    (an agent: access filter)
- list_deep       GET /api/v1/calls?page_size=50&page=100              (manager, 5,000 deep)
- detail          GET /api/v1/calls/{call_id}, a different recent call each time

then a bounded load loop (THREADS clients for LOAD_S seconds, list_filtered and detail mixed)
gives requests per second. Goal: 100x the calls costs at most 2x the latency.

    .venv/bin/python benchmarks/api.py [--sizes 10000 1000000] [--databases sqlite postgresql]

Prints JSON. Creates and drops its own SQLite files and PostgreSQL databases.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from datetime import timedelta
from typing import Any

import httpx
import sqlalchemy
from sqlalchemy import create_engine, insert, select, text

from api import auth
from api.models import User
from benchmarks.reports import AGENTS, END, QUEUES, SMALL_DAYS, generate
from cli.models import load_all_models
from core import migrate
from core.db import make_engine, make_sessionmaker, session_scope, utcnow
from core.settings import Settings
from telephony.models import Agent, Call, CallAttempt, Queue
from transcription.models import Transcript

RUNS = int(os.environ.get("BENCH_RUNS", "200"))
WARMUP = 20
LOAD_S = float(os.environ.get("BENCH_LOAD_S", "10"))
THREADS = 4
RECENT = 2_000  # the detail requests pick among the newest calls


def load(url: str, size: int, per_day: float) -> float:
    """Migrate and fill a database: calls, their attempts, a transcript row for every 5th."""
    load_all_models()
    migrate.upgrade(url)
    engine = make_engine(url)
    began = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(
            insert(Queue),
            [
                {"id": i, "name": n, "ring_cycle_s": c, "answer_target_rings": t, "created_at": END}
                for i, (n, _, c, t) in enumerate(QUEUES, start=1)
            ],
        )
        conn.execute(
            insert(Agent),
            [{"id": i, "name": f"Agent {i:02d}", "created_at": END} for i in range(1, AGENTS + 1)],
        )
    rng = random.Random(11)
    call_pk = 0
    for chunk in generate(size, per_day):
        attempts: list[dict[str, Any]] = []
        transcripts: list[dict[str, Any]] = []
        for row in chunk:
            call_pk += 1
            row["id"] = call_pk
            answerer = row["agent_id"]
            seq = 0
            if rng.random() < 0.2 or answerer is None:  # someone else's phone rang first
                other = rng.randrange(1, AGENTS + 1)
                attempts.append(_attempt(call_pk, seq, other, row, "no_answer"))
                seq += 1
            if answerer is not None:
                attempts.append(_attempt(call_pk, seq, answerer, row, "answered"))
                if call_pk % 5 == 0:
                    transcripts.append(
                        {
                            "call_pk": call_pk,
                            "model": "bundled:tiny.en",
                            "status": "done",
                            "attempts": 1,
                            "created_at": row["ended_at"],
                            "updated_at": row["ended_at"],
                        }
                    )
        with engine.begin() as conn:
            conn.execute(insert(Call), chunk)
            conn.execute(insert(CallAttempt), attempts)
            if transcripts:
                conn.execute(insert(Transcript), transcripts)
    if url.startswith("sqlite"):
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    else:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return time.perf_counter() - began


def _attempt(
    call_pk: int, seq: int, agent: int, row: dict[str, Any], outcome: str
) -> dict[str, Any]:
    return {
        "call_pk": call_pk,
        "seq": seq,
        "agent_id": agent,
        "agent_name": f"Agent {agent:02d}",
        "started_at": row["started_at"],
        "ring_s": 15.0 if outcome == "no_answer" else row["ring_to_answer_s"],
        "outcome": outcome,
    }


def make_users(url: str) -> dict[str, str]:
    """A manager and an agent (Agent 07), with a bearer token each."""
    factory = make_sessionmaker(make_engine(url))
    tokens: dict[str, str] = {}
    with session_scope(factory) as session:
        for name, role, agent in (("boss", "manager", None), ("seven", "agent", "Agent 07")):
            user = User(
                username=name,
                password_hash=auth.hash_password("benchmark password"),
                role=role,
                agent_name=agent,
                queues=[],
                active=True,
                created_at=utcnow(),
            )
            session.add(user)
            session.flush()
            tokens[name], _ = auth.create_token(db_session=session, user=user, name="bench")
        recent = list(
            session.scalars(select(Call.call_id).order_by(Call.started_at.desc()).limit(RECENT))
        )
    tokens["_recent"] = json.dumps(recent)
    return tokens


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(url: str, port: int) -> None:
    """(In the server subprocess) run the API with uvicorn on loopback."""
    import uvicorn

    from api.app import create_app

    settings = Settings(_env_file=None, database_url=url)  # type: ignore[call-arg]
    uvicorn.run(create_app(settings), host="127.0.0.1", port=port, log_level="warning")


def start_server(url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", url, "--port", str(port)],
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code in (200, 503):
                return proc, base
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the API server did not start")


def timed(client: httpx.Client, paths: list[str], headers: dict[str, str]) -> dict[str, Any]:
    """p50/p95/max of GETs of these paths in turn (after a warm-up)."""
    for path in paths[:WARMUP]:
        client.get(path, headers=headers).raise_for_status()
    times = []
    total = None
    for i in range(RUNS):
        path = paths[i % len(paths)]
        began = time.perf_counter()
        reply = client.get(path, headers=headers)
        times.append(time.perf_counter() - began)
        reply.raise_for_status()
        total = reply.json().get("total", total)
    times.sort()
    return {
        "p50_ms": round(statistics.median(times) * 1000, 2),
        "p95_ms": round(times[int(len(times) * 0.95) - 1] * 1000, 2),
        "max_ms": round(times[-1] * 1000, 2),
        "total": total,
    }


def load_loop(base: str, paths: list[str], headers: dict[str, str]) -> dict[str, Any]:
    """Requests per second from THREADS clients for LOAD_S seconds."""
    done = [0] * THREADS
    errors = [0] * THREADS
    stop = time.monotonic() + LOAD_S

    def worker(n: int) -> None:
        rng = random.Random(n)
        with httpx.Client(base_url=base, timeout=30) as client:
            while time.monotonic() < stop:
                reply = client.get(rng.choice(paths), headers=headers)
                if reply.status_code == 200:
                    done[n] += 1
                else:
                    errors[n] += 1

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    return {
        "threads": THREADS,
        "seconds": round(elapsed, 1),
        "requests": sum(done),
        "errors": sum(errors),
        "rps": round(sum(done) / elapsed, 1),
    }


def measure(url: str) -> dict[str, Any]:
    tokens = make_users(url)
    recent: list[str] = json.loads(tokens["_recent"])
    week = (END - timedelta(days=7)).isoformat().replace("+00:00", "Z")
    manager = {"Authorization": f"Bearer {tokens['boss']}"}
    agent = {"Authorization": f"Bearer {tokens['seven']}"}
    filtered = f"/api/v1/calls?page_size=50&queue=hotline&answered=true&since={week}"
    rng = random.Random(3)
    details = [f"/api/v1/calls/{rng.choice(recent)}" for _ in range(RUNS + WARMUP)]
    proc, base = start_server(url)
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            out = {
                "list": timed(client, ["/api/v1/calls?page_size=50"], manager),
                "list_filtered": timed(client, [filtered], manager),
                "list_agent": timed(client, [f"/api/v1/calls?page_size=50&since={week}"], agent),
                "list_deep": timed(client, ["/api/v1/calls?page_size=50&page=100"], manager),
                "detail": timed(client, details, manager),
            }
        out["load"] = load_loop(base, [filtered, *details[:200]], manager)
    finally:
        proc.terminate()
        proc.wait(30)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[10_000, 1_000_000])
    parser.add_argument(
        "--databases", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"]
    )
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return
    small, large = args.sizes
    per_day = small / SMALL_DAYS
    result: dict[str, Any] = {
        "sizes": [small, large],
        "calls_per_day": round(per_day, 1),
        "runs": RUNS,
        "python": platform.python_version(),
        "sqlalchemy": sqlalchemy.__version__,
        "cpus": os.cpu_count(),
    }
    workdir = Path(tempfile.mkdtemp(prefix="callscope-bench-api-"))
    admin = create_engine(args.pg_url.rstrip("/") + "/postgres", isolation_level="AUTOCOMMIT")
    try:
        for database in args.databases:
            figures: dict[str, Any] = {}
            for size in (small, large):
                name = f"callscope_bench_api_{os.getpid()}_{size}"
                if database == "sqlite":
                    url = f"sqlite:///{workdir / f'{name}.db'}"
                else:
                    with admin.connect() as conn:
                        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
                        conn.execute(text(f'CREATE DATABASE "{name}"'))
                        result["postgresql_version"] = conn.execute(
                            text("SHOW server_version")
                        ).scalar()
                    url = args.pg_url.rstrip("/") + f"/{name}"
                try:
                    print(f"{database}: loading {size} calls", file=sys.stderr)
                    load_s = load(url, size, per_day)
                    print(f"{database}: timing {size} calls", file=sys.stderr)
                    figures[str(size)] = {"load_s": round(load_s, 1), **measure(url)}
                finally:
                    if database == "postgresql":
                        with admin.connect() as conn:
                            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                    else:
                        for suffix in ("", "-wal", "-shm"):
                            Path(f"{workdir / f'{name}.db'}{suffix}").unlink(missing_ok=True)
            big, little = figures[str(large)], figures[str(small)]
            figures["ratio_large_over_small"] = {
                key: round(big[key]["p50_ms"] / little[key]["p50_ms"], 2)
                for key in little
                if isinstance(little[key], dict) and "p50_ms" in little[key]
            }
            figures["ratio_large_over_small"]["rps"] = round(
                big["load"]["rps"] / little["load"]["rps"], 2
            )
            result[database] = figures
            if database == "sqlite":
                result["sqlite_version"] = __import__("sqlite3").sqlite_version
    finally:
        admin.dispose()
        workdir.rmdir()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
