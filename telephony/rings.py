"""Rings and the answer target: how many rings a caller heard before a person answered."""

from __future__ import annotations

import math


def rings_for(ring_to_answer_s: float, ring_cycle_s: float) -> int:
    """The ring during which a call was answered: ring n starts at (n-1) x cycle."""
    if ring_cycle_s <= 0:
        raise ValueError("ring_cycle_s must be positive")
    return math.floor(max(0.0, ring_to_answer_s) / ring_cycle_s) + 1


def within_target(ring_to_answer_s: float, ring_cycle_s: float, target_rings: int) -> bool:
    """True when the call was answered during ring `target_rings` or earlier."""
    return rings_for(ring_to_answer_s, ring_cycle_s) <= target_rings


def target_seconds(ring_cycle_s: float, target_rings: int) -> float:
    """The wait (seconds) at which the target ring is over: target x cycle."""
    return ring_cycle_s * target_rings
