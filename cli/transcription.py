"""`callscope transcribe`: print who said what in a recording, without any database."""

from __future__ import annotations

import json
from pathlib import Path

import click

from core.settings import get_settings
from transcription.audio import find_legs, remap_recording_path
from transcription.dialogue import (
    dialogue_metrics,
    dialogue_to_json,
    dialogue_to_text,
    transcribe_call,
)
from transcription.engine import Engine
from transcription.errors import TranscriptionError

_PATH = click.Path(dir_okay=False, path_type=Path)


@click.command("transcribe")
@click.argument("recording", type=_PATH)
@click.option("--customer", type=_PATH, help="The customer's leg (MixMonitor <id>-in.wav).")
@click.option("--agent", type=_PATH, help="The agent's leg (MixMonitor <id>-out.wav).")
@click.option(
    "--language",
    help="zh, ko, en or auto [CALLSCOPE_TRANSCRIPTION_LANGUAGE].",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["json", "text"]),
    default="text",
    show_default=True,
    help="json: language, duration_s and segments; text: one line per turn.",
)
def transcribe(
    recording: Path,
    customer: Path | None,
    agent: Path | None,
    language: str | None,
    output_format: str,
) -> None:
    """Transcribe RECORDING (a call's mixed recording) as a customer/agent dialogue.

    When --customer/--agent are not given and the MixMonitor legs <stem>-in.wav and
    <stem>-out.wav lie beside RECORDING, they are used; a stereo RECORDING is split into its
    channels (left = customer); a mono one alone gives speaker `unknown`.
    """
    settings = get_settings()
    prefixes = settings.recording_prefixes()
    recording = _local(recording, prefixes)
    customer = _local(customer, prefixes) if customer else None
    agent = _local(agent, prefixes) if agent else None
    if customer is None and agent is None:
        legs = find_legs(
            recording,
            customer_suffix=settings.recording_customer_suffix,
            agent_suffix=settings.recording_agent_suffix,
        )
        if legs is not None:
            customer, agent = legs.customer, legs.agent
    try:
        engine = Engine.from_settings(settings)
        dialogue = transcribe_call(
            recording,
            customer,
            agent,
            language=language or settings.transcription_language,
            engine=engine,
        )
    except TranscriptionError as exc:
        raise click.ClickException(str(exc)) from exc
    for note in dialogue.notes:
        click.echo(f"note: {note}", err=True)
    if output_format == "json":
        click.echo(json.dumps(dialogue_to_json(dialogue), ensure_ascii=False, indent=2))
        return
    metrics = dialogue_metrics(dialogue)
    talk = ", ".join(f"{speaker} {seconds:.1f} s" for speaker, seconds in metrics.talk_s.items())
    click.echo(
        f"# {recording.name}: {dialogue.duration_s:.1f} s, language {dialogue.language}, "
        f"talk {talk or 'none'}, overtalk {metrics.overtalk_s:.1f} s, "
        f"longest silence {metrics.longest_silence_s:.1f} s"
    )
    text = dialogue_to_text(dialogue)
    click.echo(text if text else "(no speech)")


def _local(path: Path, prefixes: list[tuple[str, str]]) -> Path:
    """The path as given, or where CALLSCOPE_RECORDING_PATH_MAP says the PBX's path lives."""
    return path if path.exists() else remap_recording_path(path, prefixes)


def register(cli: click.Group) -> None:
    """Add the transcribe command to the callscope CLI."""
    cli.add_command(transcribe)
