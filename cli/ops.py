"""`callscope demo`: the whole system on embedded defaults, from one command."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
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
    "--data",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("tests/fixtures/ami-traces"),
    show_default=True,
    help="The real Asterisk capture and recordings the day is built from.",
)
def demo(port: int, speed: float, calls: int, data: Path) -> None:
    """Run the whole system on embedded defaults: SQLite, an embedded broker, the bundled
    model, and the PBX simulator playing a hotline day built from a real capture.

    Ctrl-C stops every process. Running it again reuses the database and the days made.
    """
    root = Path.cwd()
    state = root / ".demo"
    state.mkdir(exist_ok=True)
    recordings = state / "recordings"
    golden = data / "golden.ami"
    if not golden.exists():
        raise click.ClickException(f"no capture at {golden}: run from the repository root")
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
    yesterday_path = state / f"day-{(today - timedelta(days=1)).isoformat()}.ami"
    if not yesterday_path.exists():
        click.echo("building yesterday's hotline day and loading it ...")
        yesterday_path = _make_day(
            golden, today - timedelta(days=1), calls, 11, state, recordings, data / "recordings"
        )
        click.echo(f"  {_ingest_history(yesterday_path, settings)} calls from yesterday")
    from cli.pipeline import enqueue_calls

    queued = enqueue_calls(None)
    if queued:
        click.echo(f"  {queued} recordings queued for transcription")
    today_path = state / f"day-{today.isoformat()}.ami"
    if not today_path.exists():
        today_path = _make_day(golden, today, calls, 12, state, recordings, data / "recordings")
    exe = [sys.executable, "-m", "cli.main"]
    commands = {
        "pbx-simulator": exe
        + [
            "simulate-pbx",
            "--trace",
            str(today_path),
            "--speed",
            str(speed),
            "--port",
            str(ami_port),
        ],
        "connector": exe + ["connect"],
        "worker": exe + ["worker", "--loglevel", "WARNING"],
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
            log = (logs / f"{name}.log").open("ab")
            procs[name] = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
            if name == "pbx-simulator":
                time.sleep(1.0)
        (state / "pids.json").write_text(json.dumps({n: p.pid for n, p in procs.items()}))
        click.echo(
            f"callscope demo running: PBX simulator on 127.0.0.1:{ami_port} ({speed:g}x), "
            f"connector, transcription worker. Logs in {logs}. Ctrl-C stops everything."
        )
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
        for proc in procs.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        click.echo("stopped")


def register(cli: click.Group) -> None:
    """Add the operations commands."""
    from cli.doctor import doctor, settings_cmd

    cli.add_command(demo)
    cli.add_command(doctor)
    cli.add_command(settings_cmd)
