"""The answered golden calls: their recordings and what customer and agent said.

Reference texts come from pbx-config/prompts.txt (the speech is synthesised from them); which
prompt each call used is in golden.truth.json.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

TRACES = Path(__file__).resolve().parents[1] / "fixtures" / "ami-traces"
RECORDINGS = TRACES / "recordings"
GREETINGS = {
    "agent1": "greet_alice",
    "agent2": "greet_bob",
    "agent3": "greet_chen",
    "agent4": "greet_park",
}


@dataclass(frozen=True)
class GoldenCall:
    """One answered golden call: its recordings and what each side said."""

    scenario: str
    uniqueid: str
    customer_text: str
    agent_text: str

    @property
    def mixed(self) -> Path:
        return RECORDINGS / f"{self.uniqueid}.wav"

    @property
    def customer(self) -> Path:
        return RECORDINGS / f"{self.uniqueid}-in.wav"

    @property
    def agent(self) -> Path:
        return RECORDINGS / f"{self.uniqueid}-out.wav"


def load_prompts() -> dict[str, str]:
    """prompts.txt as key -> text."""
    prompts: dict[str, str] = {}
    for line in (TRACES / "pbx-config" / "prompts.txt").read_text().splitlines():
        if ":" in line:
            key, text = line.split(":", 1)
            prompts[key.split()[0]] = text.strip()
    return prompts


def recording_id(linkedid: str) -> str:
    """The recording's uniqueid: the linkedid's sequence number plus one."""
    epoch, seq = linkedid.split(".")
    return f"{epoch}.{int(seq) + 1}"


def load_golden_calls() -> list[GoldenCall]:
    """Every golden call in which an agent answered and the customer spoke."""
    truth = json.loads((TRACES / "golden.truth.json").read_text())
    prompts = load_prompts()
    calls: list[GoldenCall] = []
    for call in truth["calls"]:
        if "say" not in call:
            continue
        # Callers are answered in order, each by the next agent to pick up.
        answering = [
            a for d, a in sorted((d, a) for a, d in call["delays"].items() if d != "never")
        ]
        for linkedid, agent in zip(call["linkedids"], answering, strict=False):
            calls.append(
                GoldenCall(
                    scenario=call["id"],
                    uniqueid=recording_id(linkedid),
                    customer_text=prompts[call["say"]],
                    agent_text=prompts[GREETINGS[agent]],
                )
            )
    return calls


GOLDEN_CALLS = load_golden_calls()


EMPTY_RECORDINGS = sorted(p for p in RECORDINGS.glob("*.wav") if p.stat().st_size == 44)
"""Recordings of calls nobody answered: a bare 44-byte WAV header."""
