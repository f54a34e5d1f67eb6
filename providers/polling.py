"""How often a vendor task is polled, and when the wait gives up (the engine and the CLI)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class PollSchedule:
    """Poll after ``initial`` s, then ×``factor`` up to ``maximum`` s; give up after ``deadline`` s."""

    initial: float = 1.0
    factor: float = 1.5
    maximum: float = 10.0
    deadline: float = 30 * 60.0

    def delays(self) -> Iterator[float]:
        delay = self.initial
        while True:
            yield delay
            delay = min(delay * self.factor, self.maximum)
