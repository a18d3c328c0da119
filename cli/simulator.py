"""`callscope simulate-pbx` and `make-trace-day`: the PBX simulator for demos and tests."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import signal
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import click

from telephony.simulator import PbxSimulator, SimulatorOptions
from telephony.trace import AmiPacket, read_trace
from telephony.tracegen import DayOptions, make_trace_day

log = logging.getLogger(__name__)

_TRACE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.command("simulate-pbx")
@click.option("--trace", "trace", type=_TRACE, required=True, help="Raw AMI capture to replay.")
@click.option(
    "--speed",
    type=float,
    default=1.0,
    show_default=True,
    help="Replay speed: 2 = twice as fast; 0 or inf = as fast as clients read.",
)
@click.option("--loop", is_flag=True, help="Replay forever, with fresh ids and times each pass.")
@click.option("--retime", is_flag=True, help="Shift event Timestamps so the replay starts now.")
@click.option("--per-client", is_flag=True, help="Replay from the start for every session.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, required=True, help="AMI port to listen on (0: any free).")
@click.option("--username", default="callscope", show_default=True)
@click.option("--secret", default="callscope", show_default=True)
@click.option("--exit-when-done", is_flag=True, help="Stop once the replay reached its sessions.")
def simulate_pbx(
    trace: Path,
    speed: float,
    loop: bool,
    retime: bool,
    per_client: bool,
    host: str,
    port: int,
    username: str,
    secret: str,
    exit_when_done: bool,
) -> None:
    """Act as an Asterisk PBX on an AMI port, replaying a real capture. Ctrl-C stops it."""
    if math.isnan(speed) or speed < 0:
        raise click.BadParameter("must be 0 (as fast as possible) or more", param_hint="--speed")
    options = SimulatorOptions(
        host=host,
        port=port,
        username=username,
        secret=secret,
        speed=speed,
        loop=loop,
        retime=retime,
        replay_per_client=per_client,
    )
    asyncio.run(_serve(trace, read_trace(trace), options, exit_when_done))


async def _serve(
    trace: Path, events: Sequence[AmiPacket], options: SimulatorOptions, exit_when_done: bool
) -> None:
    server = PbxSimulator(events, options)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # Windows, threads
            loop.add_signal_handler(signum, stop.set)
    port = await server.start()
    pace = "as fast as clients read" if not 0 < options.speed < math.inf else f"x{options.speed:g}"
    click.echo(
        f"PBX simulator on {options.host}:{port} (user {options.username}): "
        f"{len(events)} events from {trace.name}, {pace}" + (", looping" if options.loop else ""),
        err=True,
    )
    waiters = [asyncio.create_task(stop.wait())]
    if exit_when_done:
        waiters.append(asyncio.create_task(server.replay_done.wait()))
    await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    for waiter in waiters:
        waiter.cancel()
    await server.stop()
    stats = server.stats
    click.echo(
        f"stopped: {stats.logins} logins, {stats.events_sent} events sent, "
        f"{stats.replays_finished} replays finished",
        err=True,
    )


def _parse_date(value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(
            f"{value!r} is not a date like 2026-11-23", param_hint="--date"
        ) from exc


@click.command("make-trace-day")
@click.option(
    "--trace", "trace", type=_TRACE, required=True, help="Raw AMI capture to draw calls from."
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--manifest", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--calls", type=click.IntRange(min=1), default=300, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--date", "day", help="The day (YYYY-MM-DD) [today].")
@click.option("--tz", default="local", show_default=True, help="Time zone of the opening hours.")
@click.option("--overlap", is_flag=True, help="Let calls overlap (busier, for load tests).")
def make_trace_day_cmd(
    trace: Path,
    out: Path,
    manifest: Path,
    calls: int,
    seed: int,
    day: str | None,
    tz: str,
    overlap: bool,
) -> None:
    """Arrange the captured calls into a hotline day (08:00-20:00) for the demo or benchmarks."""
    options = DayOptions(
        calls=calls, seed=seed, date=_parse_date(day), tz=tz, allow_overlap=overlap
    )
    result = make_trace_day(read_trace(trace), options)
    result.write(out, manifest)
    starts = sorted(c["started_at"] for c in result.manifest["calls"].values())
    click.echo(
        f"{len(starts)} calls, {len(result.events)} events ({starts[0]} to {starts[-1]})"
        f" -> {out}, {manifest}",
        err=True,
    )


def register(cli: click.Group) -> None:
    """Add the simulator commands."""
    cli.add_command(simulate_pbx)
    cli.add_command(make_trace_day_cmd)
