"""Capped exponential backoff with full jitter, for reconnects and retries."""

from __future__ import annotations

import random


class Backoff:
    def __init__(self, base: float = 0.1, cap: float = 5.0) -> None:
        self._base = base
        self._cap = cap
        self._attempt = 0

    def next(self) -> float:
        delay = min(self._cap, self._base * 2**self._attempt)
        self._attempt = min(self._attempt + 1, 30)
        # Never below half: a retry storm of instant reconnects is what backoff is for.
        return random.uniform(delay / 2, delay)

    def reset(self) -> None:
        self._attempt = 0
