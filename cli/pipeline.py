"""`callscope worker` and `callscope transcripts ...`: the transcription pipeline's commands."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

import click
from sqlalchemy import select

from cli import common
from cli import telephony as telephony_cli
from core.celery_app import get_celery
from core.db import session_scope
from telephony.models import Call
from transcription import service
from transcription.models import Transcript
from transcription.tasks import TRANSCRIBE

log = logging.getLogger(__name__)


def model_name() -> str:
    """The configured model as transcripts name it."""
    from transcription.engine import resolve_model

    s = common.settings()
    return resolve_model(s.whisper_model, allow_download=s.allow_model_download).name


def send(transcript_ids: Sequence[int]) -> int:
    """Queue transcription tasks; a transcript whose task cannot be sent stays pending."""
    app = get_celery()
    sent = 0
    for transcript_id in transcript_ids:
        try:
            app.send_task(
                TRANSCRIBE, args=[transcript_id], retry=True, retry_policy={"max_retries": 3}
            )
            sent += 1
        except Exception as exc:  # broker down: `transcripts enqueue --missing` catches up
            log.warning("could not queue transcript %s (%s); it stays pending", transcript_id, exc)
    return sent


def enqueue_calls(call_pks: Sequence[int] | None) -> int:
    """Create pending transcripts for calls with recordings and queue them."""
    with session_scope(common.session_factory()) as session:
        rows = service.calls_to_transcribe(
            db_session=session, call_pks=call_pks, model=model_name()
        )
        ids = [t.id for t in rows]
    return send(ids)


def after_connector_commit(call_pks: Sequence[int]) -> None:
    """The connector's after-commit hook: transcribe every new call with a recording."""
    enqueue_calls(list(call_pks))


telephony_cli.after_commit_hooks.append(after_connector_commit)


@click.command("worker")
@click.option("--concurrency", type=int, help="Worker processes [CALLSCOPE_WORKER_CONCURRENCY].")
@click.option("--loglevel", default="INFO", show_default=True)
@click.option("--name", help="Worker name (shown in logs and on transcripts) [celery@host].")
def worker(concurrency: int | None, loglevel: str, name: str | None) -> None:
    """Run a transcription worker on the configured broker (scale out: run more of these)."""
    settings = common.settings()
    common.session_factory()  # refuse to start on an unmigrated database
    processes = concurrency or settings.worker_concurrency
    app = get_celery()
    app.worker_main(
        [
            "worker",
            f"--loglevel={loglevel}",
            f"--concurrency={processes}",
            "--pool=prefork",
            f"--queues={settings.task_queue}",
            "--without-gossip",
            "--without-mingle",
            *([f"--hostname={name}@%h"] if name else []),
        ]
    )


@click.group("transcripts")
def transcripts_group() -> None:
    """Transcripts: queue missing ones, retry failures, show one."""


@transcripts_group.command("enqueue")
@click.option(
    "--missing",
    is_flag=True,
    required=True,
    help="Every call with a recording and no transcript, and transcripts still pending.",
)
def enqueue(missing: bool) -> None:
    """Queue transcription of what was missed."""
    with session_scope(common.session_factory()) as session:
        new = service.calls_to_transcribe(db_session=session, call_pks=None, model=model_name())
        pending = service.stale_pending(db_session=session)
        ids = sorted({t.id for t in new} | {t.id for t in pending})
    click.echo(f"{send(ids)} transcriptions queued ({len(new)} new, {len(ids) - len(new)} pending)")


@transcripts_group.command("retry")
@click.option("--failed", is_flag=True, required=True, help="Every failed transcript.")
def retry(failed: bool) -> None:
    """Queue failed transcriptions again (after fixing what made them fail)."""
    with session_scope(common.session_factory()) as session:
        ids = [t.id for t in service.failed_transcripts(db_session=session)]
    click.echo(f"{send(ids)} failed transcriptions queued again")


@transcripts_group.command("show")
@click.argument("call_id")
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="text")
def show(call_id: str, fmt: str) -> None:
    """Print a call's transcript (CALL_ID is the Linkedid)."""
    with session_scope(common.session_factory()) as session:
        call = session.scalar(select(Call).where(Call.call_id == call_id))
        if call is None:
            raise click.ClickException(f"no call {call_id}")
        transcript = session.scalar(
            select(Transcript).where(Transcript.call_pk == call.id).order_by(Transcript.id.desc())
        )
        if transcript is None:
            raise click.ClickException(f"call {call_id} has no transcript (yet)")
        segments = [
            {"start": s.start_s, "end": s.end_s, "speaker": s.speaker, "text": s.text}
            for s in transcript.segments
        ]
        data: dict[str, object] = {
            "call_id": call_id,
            "status": transcript.status,
            "error": transcript.error,
            "model": transcript.model,
            "language": transcript.language,
            "audio_s": transcript.audio_s,
            "processing_s": transcript.processing_s,
            "talk_s": {
                "customer": transcript.talk_customer_s,
                "agent": transcript.talk_agent_s,
                "unknown": transcript.talk_unknown_s,
            },
            "silence_ratio": transcript.silence_ratio,
            "longest_silence_s": transcript.longest_silence_s,
            "overtalk_s": transcript.overtalk_s,
            "segments": segments,
        }
    if fmt == "json":
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    click.echo(f"{call_id}: {data['status']}" + (f" ({data['error']})" if data["error"] else ""))
    for seg in segments:
        click.echo(f"[{seg['start']:7.2f} - {seg['end']:7.2f}] {seg['speaker']:>8}: {seg['text']}")


def register(cli: click.Group) -> None:
    """Add the pipeline commands."""
    cli.add_command(worker)
    cli.add_command(transcripts_group)
