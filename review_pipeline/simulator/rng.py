"""Deterministic random streams keyed by (seed, purpose, key...).

Every stream depends only on its key, never on the horizon, so building N
days and then K more gives the same draws as building N + K at once.
"""

from __future__ import annotations

import hashlib
import random


def stream_seed(seed: int, purpose: str, *keys: object) -> int:
    text = ":".join([str(seed), purpose, *(str(k) for k in keys)])
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def stream(seed: int, purpose: str, *keys: object) -> random.Random:
    """A ``random.Random`` for one purpose and key (e.g. ``("lead", slot_id, seq)``)."""
    return random.Random(stream_seed(seed, purpose, *keys))


def chance(rng: random.Random, p: float) -> bool:
    return rng.random() < p


def ri(rng: random.Random, low: int, high: int) -> int:
    """``rng.randint(low, high)`` at a fraction of the cost (one ``random()`` draw)."""
    return low + int(rng.random() * (high - low + 1))


def hashed_uniform(seed: int, purpose: str, *keys: object) -> float:
    """One uniform draw in [0, 1) for a key, without building a generator."""
    return (stream_seed(seed, purpose, *keys) >> 11) / float(1 << 53)
