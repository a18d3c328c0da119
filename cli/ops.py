"""`callscope demo`: the whole system on embedded defaults, from one command."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import click
from sqlalchemy import func, select

from cli.models import load_all_models
from core import migrate
from core.db import make_engine, make_sessionmaker, session_scope
from core.settings import Settings, get_settings
from telephony.connector import EventWriter
from telephony.events import AmiEvent, is_tracked
from telephony.models import Call
from telephony.trace import read_trace
from telephony.tracegen import DayOptions, make_trace_day
from transcription.models import Transcript

PBX_MONITOR = "/opt/asterisk/var/spool/asterisk/monitor"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def link_recordings(manifest: dict[str, object], source: Path, target: Path) -> None:
    """Give each generated call its recording: links to the captured files, renamed."""
    target.mkdir(parents=True, exist_ok=True)
    calls = manifest["calls"]
    assert isinstance(calls, dict)
    for call in calls.values():
        rec = call.get("recording")
        if not rec:
            continue
        for suffix in ("", "-in", "-out"):
            src = source / f"{rec['original_uniqueid']}{suffix}.wav"
            dst = target / f"{rec['uniqueid']}{suffix}.wav"
            if src.exists() and not dst.exists():
                dst.symlink_to(src.resolve())


def _make_day(
    golden: Path, day: date, calls: int, seed: int, out: Path, recordings: Path, source: Path
) -> Path:
    trace = read_trace(golden)
    result = make_trace_day(trace, DayOptions(calls=calls, seed=seed, date=day, tz="local"))
    path = out / f"day-{day.isoformat()}.ami"
    result.write(path, out / f"day-{day.isoformat()}.json")
    link_recordings(result.manifest, source, recordings)
    return path


def _ingest_history(path: Path, settings: Settings) -> int:
    """Load yesterday's calls straight through the writer, so figures exist from the start."""
    factory = make_sessionmaker(make_engine(settings.database_url))
    writer = EventWriter(factory, settings)
    writer.start()
    now = time.time()
    for packet in read_trace(path):
        headers = dict(packet.headers)
        if is_tracked(packet.name, headers):
            writer.put(AmiEvent(packet.name, headers, now))
    writer.stop(120)
    return writer.stats.calls_written


def link_loop_recordings(
    trace: Path, manifest: dict[str, object], source: Path, target: Path, passes: int
) -> None:
    """Recordings for the simulator's looped passes, which renumber every Uniqueid."""
    from telephony.simulator import SimulatorOptions
    from telephony.simulator_replay import PreparedTrace
    from telephony.trace import UID, PassRewrite

    calls = manifest["calls"]
    assert isinstance(calls, dict)
    recorded = [c["recording"] for c in calls.values() if c.get("recording")]
    prepared = PreparedTrace(read_trace(trace), SimulatorOptions(loop=True))
    for pass_no in range(1, passes + 1):
        rewrite = PassRewrite(prepared.span, pass_no, prepared.pass_span_s, 0.0)
        for rec in recorded:
            uniqueid = rewrite(UID, rec["uniqueid"]).decode()
            for suffix in ("", "-in", "-out"):
                src = source / f"{rec['original_uniqueid']}{suffix}.wav"
                dst = target / f"{uniqueid}{suffix}.wav"
                if src.exists() and not dst.exists():
                    dst.symlink_to(src.resolve())


def _demo_cast(trace: Path) -> tuple[list[str], list[str]]:
    """The demo day's queues and its two busiest answering agents."""
    queues: set[str] = set()
    answered: Counter[str] = Counter()
    for packet in read_trace(trace):
        if packet.name == "QueueCallerJoin" and packet.get("Queue"):
            queues.add(str(packet.get("Queue")))
        elif packet.name == "AgentConnect" and packet.get("MemberName"):
            answered[str(packet.get("MemberName"))] += 1
    return sorted(queues), [name for name, _ in answered.most_common(2)]


def _username(agent: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9._@-]", "", agent.split()[0].lower()) if agent.split() else ""
    name = base or "agent"
    n = 1
    while name in taken:
        n += 1
        name = f"{base or 'agent'}{n}"
    return name


def demo_users(trace: Path, credentials: Path, database_url: str) -> dict[str, str]:
    """Create the demo's users (or keep them); their passwords, also in `credentials`.

    The credentials file is the source: a user it names keeps that password; a user missing
    from the database is created with it (or a new one); a user the file does not name gets
    a new password, since nobody could know the old one.
    """
    from api import auth, service
    from api.models import User

    known: dict[str, str] = {}
    if credentials.exists():
        known = {str(k): str(v) for k, v in json.loads(credentials.read_text()).items()}
    queues, agents = _demo_cast(trace)
    plan: list[tuple[str, str, str | None, list[str]]] = [
        ("admin", "admin", None, []),
        ("manager", "manager", None, []),
        ("supervisor", "supervisor", None, queues),
    ]
    taken = {name for name, *_ in plan}
    for agent in agents:
        username = _username(agent, taken)
        taken.add(username)
        plan.append((username, "agent", agent, []))
    passwords: dict[str, str] = {}
    factory = make_sessionmaker(make_engine(database_url))
    with session_scope(factory) as session:
        for username, role, agent_name, scope in plan:
            password = known.get(username) or auth.new_password()
            user = session.scalar(select(User).where(User.username == username))
            if user is None:
                user = service.create_user(
                    db_session=session,
                    username=username,
                    password=password,
                    role=role,
                    agent_name=agent_name,
                    queues=scope,
                )
                action = "user.create"
            elif username not in known:
                service.update_user(db_session=session, user=user, changes={"password": password})
                action = "user.update"
            else:
                passwords[username] = password
                continue
            service.audit(
                db_session=session,
                user=None,
                actor="cli:demo",
                action=action,
                object_type="user",
                object_id=str(user.id),
                detail={"username": username, "role": role, "demo": True},
            )
            passwords[username] = password
    credentials.write_text(json.dumps(passwords, indent=2) + "\n")
    credentials.chmod(0o600)
    return passwords


def _port_taken(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if _port_taken(port):
            return True
        time.sleep(0.2)
    return False


def stop_processes(procs: dict[str, subprocess.Popen[bytes]], grace_s: float = 20.0) -> None:
    """SIGTERM each child (it stops its own helpers: a worker its pool), wait, then SIGKILL
    whatever is left in its process group."""
    for proc in procs.values():
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
    deadline = time.monotonic() + grace_s
    for name, proc in procs.items():
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            click.echo(f"  {name} did not stop in {grace_s:g} s; killing it")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        # helpers the child left behind in its group (a worker's pool processes)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)


@click.command("demo")
@click.option(
    "--port",
    type=int,
    envvar="DEMO_PORT",
    default=8000,
    show_default=True,
    help="Web port [DEMO_PORT].",
)
@click.option(
    "--speed",
    type=float,
    default=30.0,
    show_default=True,
    help="How much faster than real time the hotline day runs.",
)
@click.option("--calls", type=int, default=200, show_default=True, help="Calls per day.")
@click.option(
    "--loop-passes",
    type=click.IntRange(min=0),
    default=20,
    show_default=True,
    help="The simulator replays the day again and again; recordings are ready for this "
    "many extra passes (0: play the day once).",
)
@click.option(
    "--data",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("tests/fixtures/ami-traces"),
    show_default=True,
    help="The real Asterisk capture and recordings the day is built from.",
)
def demo(port: int, speed: float, calls: int, loop_passes: int, data: Path) -> None:
    """Run the whole system on embedded defaults: SQLite, an embedded broker, the bundled
    model, the PBX simulator looping a hotline day built from a real capture, the connector,
    a worker, and the web app on 127.0.0.1:PORT with demo users.

    Ctrl-C stops every process. Running it again reuses the database, the days made and
    the demo logins (.demo/credentials.json).
    """
    root = Path.cwd()
    state = root / ".demo"
    state.mkdir(exist_ok=True)
    recordings = state / "recordings"
    golden = data / "golden.ami"
    if not golden.exists():
        raise click.ClickException(f"no capture at {golden}: run from the repository root")
    if _port_taken(port):
        raise click.ClickException(
            f"port {port} is in use: stop what listens there or pick another (DEMO_PORT=8001)"
        )
    ami_port = _free_port()
    env = dict(os.environ)
    env.setdefault("CALLSCOPE_DATABASE_URL", f"sqlite:///{root / 'callscope.db'}")
    env.setdefault("CALLSCOPE_BROKER_URL", f"sqla+sqlite:///{state / 'broker.db'}")
    env.update(
        CALLSCOPE_AMI_HOST="127.0.0.1",
        CALLSCOPE_AMI_PORT=str(ami_port),
        CALLSCOPE_AMI_USERNAME="callscope",
        CALLSCOPE_AMI_SECRET="callscope",
        CALLSCOPE_RECORDING_DIR=PBX_MONITOR,
        CALLSCOPE_RECORDING_PATH_MAP=f"{PBX_MONITOR}={recordings}",
    )
    os.environ.update(env)  # this process queues tasks and reads the database too
    get_settings.cache_clear()
    settings = get_settings()
    load_all_models()
    click.echo("migrating the database ...")
    migrate.upgrade(settings.database_url)
    today = date.today()
    source = data / "recordings"
    yesterday_path = state / f"day-{(today - timedelta(days=1)).isoformat()}.ami"
    if not yesterday_path.exists():
        click.echo("building yesterday's hotline day and loading it ...")
        yesterday_path = _make_day(
            golden, today - timedelta(days=1), calls, 11, state, recordings, source
        )
        click.echo(f"  {_ingest_history(yesterday_path, settings)} calls from yesterday")
    from cli.pipeline import enqueue_calls

    queued = enqueue_calls(None)
    if queued:
        click.echo(f"  {queued} recordings queued for transcription")
    today_path = state / f"day-{today.isoformat()}.ami"
    if not today_path.exists():
        today_path = _make_day(golden, today, calls, 12, state, recordings, source)
    manifest_path = today_path.with_suffix(".json")
    looped_mark = state / f"{today_path.stem}.looped-{loop_passes}"
    if loop_passes and manifest_path.exists() and not looped_mark.exists():
        manifest = json.loads(manifest_path.read_text())
        link_loop_recordings(today_path, manifest, source, recordings, loop_passes)
        looped_mark.touch()
    credentials = state / "credentials.json"
    passwords = demo_users(today_path, credentials, settings.database_url)
    exe = [sys.executable, "-m", "cli.main"]
    simulate = ["simulate-pbx", "--trace", str(today_path), "--speed", str(speed)]
    simulate += ["--port", str(ami_port), *(["--loop"] if loop_passes else [])]
    commands = {
        "pbx-simulator": exe + simulate,
        "connector": exe + ["connect"],
        "worker": exe + ["worker", "--loglevel", "WARNING"],
        "web": exe + ["serve", "--host", "127.0.0.1", "--port", str(port)],
    }
    procs: dict[str, subprocess.Popen[bytes]] = {}
    logs = state / "logs"
    logs.mkdir(exist_ok=True)
    stopping = False

    def stop_all(*_args: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop_all)
    signal.signal(signal.SIGTERM, stop_all)
    try:
        for name, command in commands.items():
            if stopping:
                break
            with (logs / f"{name}.log").open("ab") as log:
                # its own session: a Ctrl-C reaches only this process, which stops the rest
                procs[name] = subprocess.Popen(
                    command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
            if name == "pbx-simulator":
                time.sleep(1.0)
        (state / "pids.json").write_text(json.dumps({n: p.pid for n, p in procs.items()}))
        if not stopping and not _wait_for_port(port, procs["web"], 60):
            click.echo(f"the web app did not start; see {logs}/web.log")
            stopping = True
        if not stopping:
            _echo_welcome(port, ami_port, speed, logs, credentials, passwords)
        factory = make_sessionmaker(make_engine(settings.database_url))
        while not stopping:
            for name, proc in procs.items():
                if proc.poll() is not None:
                    click.echo(f"{name} exited with {proc.returncode}; see {logs}/{name}.log")
                    stopping = True
            with session_scope(factory) as session:
                total = session.scalar(select(func.count(Call.id)))
                done = session.scalar(
                    select(func.count(Transcript.id)).where(Transcript.status == "done")
                )
            click.echo(f"  calls: {total}  transcripts done: {done}")
            for _ in range(20):
                if stopping:
                    break
                time.sleep(0.5)
    finally:
        click.echo("stopping ...")
        stop_processes(procs)
        (state / "pids.json").unlink(missing_ok=True)
        click.echo("stopped")


def _echo_welcome(
    port: int,
    ami_port: int,
    speed: float,
    logs: Path,
    credentials: Path,
    passwords: dict[str, str],
) -> None:
    url = f"http://127.0.0.1:{port}"
    click.echo("")
    click.echo(f"callscope demo is running. Open {url}/ and sign in as one of:")
    for username, password in passwords.items():
        click.echo(f"    {username:<12} {password}")
    click.echo(f"  (also in {credentials})")
    click.echo(f"  API and its documentation: {url}/docs; live wallboard feed: {url}/api/v1/live")
    click.echo(
        f"  PBX simulator on 127.0.0.1:{ami_port} plays today's calls at {speed:g}x, looping; "
        f"the connector, a transcription worker and the web app log to {logs}."
    )
    click.echo("  Calls appear at once, transcripts and flags within two minutes. Ctrl-C stops.")
    click.echo("")


def register(cli: click.Group) -> None:
    """Add the operations commands."""
    from cli.doctor import doctor, settings_cmd

    cli.add_command(demo)
    cli.add_command(doctor)
    cli.add_command(settings_cmd)
