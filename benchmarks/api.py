"""Benchmark: API latency on 10,000 vs 1,000,000 calls (SQLite and PostgreSQL), over HTTP.

The same hotline traffic as benchmarks/reports.py (its generator, about 357 calls a day, with
ring attempts, a transcript row for every 5th answered call and a flag on every abandoned one);
the big database keeps 100x more history. The newest calls' transcripts get segments and word
times, so the detail answers a real transcript. uvicorn serves `create_app` (one worker
process) on loopback; an httpx client times `--requests` GETs of each scenario, one at a time,
after a warm-up:

- manager/list_filtered    GET /api/v1/calls?page_size=50&queue=hotline&answered=true
                           &since=<END-7d>&until=<END>&sort=-started_at
- manager/list_sorted      ...?page_size=50&since=<END-7d>&until=<END>&sort=-wait_s
- manager/list_first_page  ...?page_size=50                     (no filter: the console's opening)
- manager/detail           GET /api/v1/calls/{call_id}, a different recent call each time
- supervisor/...           the same as a supervisor of `sales` and `parts`: the access rules add
                           the queue filter (list_filtered has no queue= of its own)
- agent/...                the same as the agent `Agent 07`: the access rules keep the calls
                           the agent answered or whose attempts rang the agent

then a load generator (`--clients` threads, each its own keep-alive httpx client, for
`--duration` seconds, the manager's filtered list and details mixed 1:4) gives requests per
second. Goal: 100x the calls costs at most 2x the latency (p50 and p95).

    .venv/bin/python benchmarks/api.py [--sizes 10000,1000000] [--db sqlite,postgresql]
        [--requests 200] [--clients 8] [--duration 10]

Prints JSON (progress on stderr). Creates and drops its own SQLite files and PostgreSQL
databases (callscope_bench_api_<size>, next to the database of --pg-url).
"""

from __future__ import annotations

import sys
from pathlib import Path

# benchmarks/transcription.py would shadow the transcription package: import from the root
ROOT = Path(__file__).resolve().parent.parent
sys.path[:1] = [str(ROOT)]

import argparse
import json
import math
import os
import platform
import random
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
from datetime import timedelta
from typing import Any

import httpx
import sqlalchemy
from sqlalchemy import Engine, create_engine, insert, make_url, select, text

from analytics.models import Flag
from api import auth
from api import calls as api_calls
from api.models import User
from api.schemas import CallListQuery
from benchmarks.reports import AGENTS, END, QUEUES, SMALL_DAYS, generate, plan_of
from cli.models import load_all_models
from core import migrate
from core.db import make_engine, make_sessionmaker, session_scope, utcnow
from core.settings import Settings
from telephony.models import Agent, Call, CallAttempt, Queue
from transcription.models import Transcript, TranscriptSegment, TranscriptWord

WARMUP = 20
RECENT = 2_000  # the detail requests pick among the newest calls
SEGMENTS = 24  # per transcript of a recent call
WORDS = 8  # per segment
SUPERVISED = ["sales", "parts"]
# username, role, queues, agent name
USERS: list[tuple[str, str, list[str], str | None]] = [
    ("boss", "manager", [], None),
    ("lead", "supervisor", SUPERVISED, None),
    ("seven", "agent", [], "Agent 07"),
]
SINCE = (END - timedelta(days=7)).isoformat().replace("+00:00", "Z")
UNTIL = END.isoformat().replace("+00:00", "Z")
LISTS = {
    "list_filtered": f"page_size=50&answered=true&since={SINCE}&until={UNTIL}&sort=-started_at",
    "list_sorted": f"page_size=50&since={SINCE}&until={UNTIL}&sort=-wait_s",
    "list_first_page": "page_size=50",
}
PHRASES = [
    "thank you for calling the service hotline",
    "my car makes a noise when I brake",
    "you can reach me on 13912345678",
    "the plate is 京A12345 and it is in the garage",
    "we will call you back tomorrow morning",
]


# --- data ----------------------------------------------------------------------------------


def load(url: str, size: int, per_day: float) -> float:
    """Migrate and fill a database; returns the seconds the load took."""
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
        flags: list[dict[str, Any]] = []
        for row in chunk:
            call_pk += 1
            row["id"] = call_pk
            answerer = row["agent_id"]
            seq = 0
            if rng.random() < 0.2 or answerer is None:  # someone else's phone rang first
                attempts.append(_attempt(call_pk, seq, rng.randrange(1, AGENTS + 1), row))
                seq += 1
            if answerer is not None:
                attempts.append(_attempt(call_pk, seq, answerer, row, answered=True))
                if call_pk % 5 == 0:
                    transcripts.append(
                        {
                            "id": call_pk // 5,
                            "call_pk": call_pk,
                            "model": "bundled:tiny.en",
                            "status": "done",
                            "attempts": 1,
                            "language": "en",
                            "audio_s": row["talk_s"],
                            "created_at": row["ended_at"],
                            "updated_at": row["ended_at"],
                        }
                    )
            if row["abandoned"]:
                flags.append(
                    {
                        "call_pk": call_pk,
                        "rule": "abandoned_after_target",
                        "severity": "medium",
                        "reason": "the caller hung up after the answer target",
                        "created_at": row["ended_at"],
                    }
                )
        with engine.begin() as conn:
            conn.execute(insert(Call), chunk)
            conn.execute(insert(CallAttempt), attempts)
            if transcripts:
                conn.execute(insert(Transcript), transcripts)
            if flags:
                conn.execute(insert(Flag), flags)
    _add_segments(engine)
    if url.startswith("sqlite"):
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    else:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return time.perf_counter() - began


def _attempt(
    call_pk: int, seq: int, agent: int, row: dict[str, Any], *, answered: bool = False
) -> dict[str, Any]:
    return {
        "call_pk": call_pk,
        "seq": seq,
        "agent_id": agent,
        "agent_name": f"Agent {agent:02d}",
        "started_at": row["started_at"],
        "ring_s": row["ring_to_answer_s"] if answered else 15.0,
        "outcome": "answered" if answered else "no_answer",
    }


def _add_segments(engine: Engine) -> None:
    """Segments and word times for the transcripts of the newest RECENT calls (same in both
    sizes, so the detail answers the same transcript on a small and a big database)."""
    rng = random.Random(5)
    segments: list[dict[str, Any]] = []
    words: list[dict[str, Any]] = []
    with engine.connect() as conn:
        newest = select(Call.id).order_by(Call.id.desc()).limit(RECENT).scalar_subquery()
        recent = list(conn.scalars(select(Transcript.id).where(Transcript.call_pk.in_(newest))))
    for transcript_id in recent:
        for seq in range(SEGMENTS):
            segment_id = len(segments) + 1
            phrase = rng.choice(PHRASES)
            start = seq * 6.0
            segments.append(
                {
                    "id": segment_id,
                    "transcript_id": transcript_id,
                    "seq": seq,
                    "start_s": start,
                    "end_s": start + 5.0,
                    "speaker": "agent" if seq % 2 == 0 else "customer",
                    "text": phrase,
                    "avg_logprob": -0.3,
                    "no_speech_prob": 0.01,
                }
            )
            for n, word in enumerate(phrase.split()[:WORDS]):
                words.append(
                    {
                        "id": len(words) + 1,
                        "segment_id": segment_id,
                        "seq": n,
                        "start_s": start + n * 0.6,
                        "end_s": start + n * 0.6 + 0.5,
                        "text": word,
                        "probability": 0.9,
                    }
                )
    with engine.begin() as conn:
        conn.execute(insert(TranscriptSegment), segments)
        conn.execute(insert(TranscriptWord), words)


def make_users(url: str) -> dict[str, Any]:
    """USERS with a bearer token each, and recent calls each may open."""
    factory = make_sessionmaker(make_engine(url))
    out: dict[str, Any] = {}
    with session_scope(factory) as session:
        for name, role, queues, agent in USERS:
            user = User(
                username=name,
                password_hash=auth.hash_password("benchmark password"),
                role=role,
                agent_name=agent,
                queues=queues,
                active=True,
                created_at=utcnow(),
            )
            session.add(user)
            session.flush()
            token, _ = auth.create_token(db_session=session, user=user, name="bench")
            recent = select(Call.call_id).order_by(Call.started_at.desc()).limit(RECENT)
            if queues:
                recent = recent.join(Queue, Queue.id == Call.queue_id).where(Queue.name.in_(queues))
            if agent:
                recent = recent.join(Agent, Agent.id == Call.agent_id).where(Agent.name == agent)
            out[role] = {
                "headers": {"Authorization": f"Bearer {token}"},
                "recent": list(session.scalars(recent)),
            }
    return out


def _page_query(statement: str) -> bool:
    """The page query of a call list: it reads calls with ORDER BY and LIMIT."""
    return "FROM calls" in statement and "ORDER BY" in statement and "LIMIT" in statement


def list_plans(url: str) -> dict[str, list[str]]:
    """The database's plan of the page query of each list, as each role sends it."""
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    plans: dict[str, list[str]] = {}
    with session_scope(factory) as session:
        for username, role, _, _ in USERS:
            user = session.scalars(select(User).where(User.username == username)).one()
            for name, query in LISTS.items():
                params = dict(p.split("=", 1) for p in query.split("&"))
                if role == "manager" and name == "list_filtered":
                    params["queue"] = "hotline"
                parsed = CallListQuery.model_validate(params)

                def run(user: User = user, parsed: CallListQuery = parsed) -> None:
                    api_calls.list_calls_page(db_session=session, user=user, query=parsed)

                plans[f"{role}/{name}"] = plan_of(engine, run, pick=_page_query)
    engine.dispose()
    return plans


# --- server and clients --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(url: str, port: int) -> None:
    """(In the server subprocess) run the API with uvicorn on loopback."""
    import uvicorn

    from api.app import create_app

    settings = Settings(_env_file=None, database_url=url)
    uvicorn.run(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )


def start_server(url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", url, "--port", str(port)], start_new_session=True
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
    raise RuntimeError("the API server did not start within 60 s")


def percentiles(times: list[float]) -> dict[str, float]:
    """p50, p95 (nearest rank) and max of these seconds, in milliseconds."""
    ordered = sorted(times)

    def rank(p: float) -> float:
        return ordered[max(0, math.ceil(p * len(ordered)) - 1)]

    return {
        "p50_ms": round(rank(0.50) * 1000, 2),
        "p95_ms": round(rank(0.95) * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


def timed(
    clients: dict[str, httpx.Client],
    paths: dict[str, list[str]],
    headers: dict[str, dict[str, str]],
    requests: int,
) -> dict[str, dict[str, Any]]:
    """Latency of `requests` GETs per database size, one at a time, the sizes interleaved.

    Request i goes to the small and the large database's server back to back (the order
    alternating), so whatever else the machine does at that moment slows both alike.
    """
    for size, client in clients.items():
        for path in paths[size][:WARMUP]:
            client.get(path, headers=headers[size]).raise_for_status()
    times: dict[str, list[float]] = {size: [] for size in clients}
    bodies: dict[str, dict[str, Any]] = {}
    sizes = list(clients)
    for i in range(requests):
        for size in sizes if i % 2 == 0 else reversed(sizes):
            path = paths[size][i % len(paths[size])]
            began = time.perf_counter()
            reply = clients[size].get(path, headers=headers[size])
            times[size].append(time.perf_counter() - began)
            reply.raise_for_status()
            bodies[size] = reply.json()
    out: dict[str, dict[str, Any]] = {}
    for size in sizes:
        out[size] = percentiles(times[size])
        if "items" in bodies[size]:
            out[size]["items"] = len(bodies[size]["items"])
            out[size]["total"] = bodies[size]["total"]
            out[size]["total_exact"] = bodies[size]["total_exact"]
    return out


def load_loop(
    base: str, paths: list[str], headers: dict[str, str], clients: int, duration: float
) -> dict[str, Any]:
    """Requests per second from `clients` concurrent clients for `duration` seconds."""
    times: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    start = threading.Barrier(clients + 1)
    stop = [0.0]

    def worker(n: int) -> None:
        rng = random.Random(n)
        with httpx.Client(base_url=base, timeout=60) as client:
            start.wait()
            while time.monotonic() < stop[0]:
                began = time.perf_counter()
                reply = client.get(rng.choice(paths), headers=headers)
                if reply.status_code == 200:
                    times[n].append(time.perf_counter() - began)
                else:
                    errors[n] += 1

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    stop[0] = time.monotonic() + duration
    began = time.perf_counter()
    start.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    done = [t for per_client in times for t in per_client]
    return {
        "clients": clients,
        "seconds": round(elapsed, 1),
        "requests": len(done),
        "errors": sum(errors),
        "rps": round(len(done) / elapsed, 1),
        **percentiles(done),
    }


def measure(urls: dict[str, str], args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Every scenario's latency on each database (interleaved), then the load loop on each."""
    users = {size: make_users(url) for size, url in urls.items()}
    rng = random.Random(3)
    servers = {size: start_server(url) for size, url in urls.items()}
    out: dict[str, dict[str, Any]] = {size: {} for size in urls}
    try:
        clients = {
            size: httpx.Client(base_url=base, timeout=60) for size, (_, base) in servers.items()
        }
        try:
            for _, role, _, _ in USERS:
                headers = {size: users[size][role]["headers"] for size in urls}
                for name, query in LISTS.items():
                    if role == "manager" and name == "list_filtered":
                        query += "&queue=hotline"
                    paths = {size: [f"/api/v1/calls?{query}"] for size in urls}
                    for size, figures in timed(clients, paths, headers, args.requests).items():
                        out[size][f"{role}/{name}"] = figures
                details = {
                    size: [
                        f"/api/v1/calls/{rng.choice(users[size][role]['recent'])}"
                        for _ in range(args.requests + WARMUP)
                    ]
                    for size in urls
                }
                for size, figures in timed(clients, details, headers, args.requests).items():
                    out[size][f"{role}/detail"] = figures
        finally:
            for client in clients.values():
                client.close()
        for size, (_, base) in servers.items():
            manager = users[size]["manager"]
            filtered = f"/api/v1/calls?{LISTS['list_filtered']}&queue=hotline"
            mix = [filtered] + [f"/api/v1/calls/{rng.choice(manager['recent'])}" for _ in range(4)]
            print(f"load generator on {size} calls", file=sys.stderr)
            out[size]["load"] = load_loop(
                base, mix * 50, manager["headers"], args.clients, args.duration
            )
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(30)
    for size, url in urls.items():
        out[size]["plans"] = list_plans(url)
    return out


# --- main ----------------------------------------------------------------------------------


def _ratios(little: dict[str, Any], big: dict[str, Any]) -> dict[str, Any]:
    ratios: dict[str, Any] = {}
    for key, small in little.items():
        if isinstance(small, dict) and "p50_ms" in small and key != "load":
            ratios[key] = {
                p: round(big[key][f"{p}_ms"] / small[f"{p}_ms"], 2) for p in ("p50", "p95")
            }
    ratios["load_rps"] = round(big["load"]["rps"] / little["load"]["rps"], 2)
    worst = max(max(r.values()) for k, r in ratios.items() if isinstance(r, dict))
    ratios["worst_latency_ratio"] = worst
    ratios["goal_at_most_2x_met"] = worst <= 2.0
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--sizes", default="10000,1000000", help="small,large call counts (default %(default)s)"
    )
    parser.add_argument(
        "--db", default="sqlite,postgresql", help="sqlite and/or postgresql (default %(default)s)"
    )
    parser.add_argument(
        "--requests", type=int, default=200, help="timed requests per scenario (%(default)s)"
    )
    parser.add_argument("--clients", type=int, default=8, help="load generator clients")
    parser.add_argument("--duration", type=float, default=10.0, help="load seconds per database")
    parser.add_argument(
        "--pg-url",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
        help="a PostgreSQL database to connect to for creating and dropping the scratch ones",
    )
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return
    small, large = (int(s) for s in args.sizes.split(","))
    databases = [d.strip() for d in args.db.split(",") if d.strip()]
    if unknown := set(databases) - {"sqlite", "postgresql"}:
        parser.error(f"--db: unknown {', '.join(sorted(unknown))} (sqlite, postgresql)")
    per_day = small / SMALL_DAYS
    result: dict[str, Any] = {
        "sizes": [small, large],
        "calls_per_day": round(per_day, 1),
        "history_days": {str(n): math.ceil(n / per_day) for n in (small, large)},
        "requests": args.requests,
        "server": "uvicorn, 1 worker process, loopback",
        "python": platform.python_version(),
        "sqlalchemy": sqlalchemy.__version__,
        "cpus": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    workdir = Path(tempfile.mkdtemp(prefix="callscope-bench-api-"))
    admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
    try:
        for database in databases:
            urls: dict[str, str] = {}
            figures: dict[str, Any] = {}
            try:
                for size in (small, large):
                    name = f"callscope_bench_api_{size}"
                    if database == "sqlite":
                        urls[str(size)] = f"sqlite:///{workdir / f'{name}.db'}"
                        result["sqlite_version"] = sqlite3.sqlite_version
                    else:
                        with admin.connect() as conn:
                            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                            conn.execute(text(f'CREATE DATABASE "{name}"'))
                            version = conn.execute(text("SHOW server_version")).scalar()
                        result["postgresql_version"] = version
                        url = make_url(args.pg_url).set(database=name)
                        urls[str(size)] = url.render_as_string(hide_password=False)
                    print(f"{database}: loading {size} calls", file=sys.stderr)
                    figures[str(size)] = {"load_s": round(load(urls[str(size)], size, per_day), 1)}
                print(f"{database}: timing", file=sys.stderr)
                for key, measured in measure(urls, args).items():
                    figures[key].update(measured)
            finally:
                for size in (small, large):
                    name = f"callscope_bench_api_{size}"
                    if database == "postgresql":
                        with admin.connect() as conn:
                            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                    else:
                        for suffix in ("", "-wal", "-shm"):
                            Path(f"{workdir / f'{name}.db'}{suffix}").unlink(missing_ok=True)
            figures["ratio_large_over_small"] = _ratios(figures[str(small)], figures[str(large)])
            result[database] = figures
            print(json.dumps({database: figures["ratio_large_over_small"]}), file=sys.stderr)
    finally:
        admin.dispose()
        workdir.rmdir()
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
