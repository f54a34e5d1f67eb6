"""How many paid calls one Generate makes, and whether it may make them.

A request is chunks × takes × providers vendor calls: a long range is split
into chunks by the engine (``core.chunks``, the same rule used here), each take
is its own job, and *Generate With…* may run several providers. One click must
never silently become dozens of paid calls, so above a limit an interactive
Generate asks first (even when the price is unknown), a script is refused
unless it raises ``scene.foley.max_requests``, and a range that would need more
than ``MAX_CHUNKS`` chunks is refused outright.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from ..providers.base import ProviderInfo
from .chunks import DEFAULT_OVERLAP_S, chunk_limits, needs_chunks, plan_chunks
from .timeline import FrameRange

DEFAULT_ASK_ABOVE_REQUESTS = 12  # the preference's default: a dozen calls still pass without a question
MAX_CHUNKS = 60  # per provider and take: beyond this a range is refused, whatever the limits say


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'s' if number != 1 else ''}"


@dataclass(frozen=True)
class ProviderRequests:
    provider_id: str
    label: str
    chunks: int
    takes: int
    max_chunk_seconds: float

    @property
    def calls(self) -> int:
        return self.chunks * self.takes


@dataclass(frozen=True)
class RequestPlan:
    per_provider: tuple[ProviderRequests, ...]
    seconds: float

    @property
    def calls(self) -> int:
        return sum(provider.calls for provider in self.per_provider)

    def describe(self) -> str:
        """"39 paid calls (13 chunks × 3 takes)"; a sum per provider for several providers."""
        plural = "s" if self.calls != 1 else ""
        parts = [f"{_count(p.chunks, 'chunk')} × {_count(p.takes, 'take')}"
                 + (f" of {p.label}" if len(self.per_provider) > 1 else "")
                 for p in self.per_provider]
        return f"{self.calls} paid call{plural} ({' + '.join(parts)})"

    def too_long(self) -> str:
        """The sentence refusing a range that needs more than ``MAX_CHUNKS`` chunks; "" when it fits."""
        for provider in self.per_provider:
            if provider.chunks > MAX_CHUNKS:
                longest = MAX_CHUNKS * (provider.max_chunk_seconds - DEFAULT_OVERLAP_S) / 60
                return (f"This {self.seconds / 60:.1f}-minute range would need {provider.chunks} chunks with "
                        f"{provider.label} (at most {MAX_CHUNKS} per request); choose a shorter range "
                        f"(up to about {longest:.0f} minutes) or select the strips that need sound.")
        return ""


def chunk_count(info: ProviderInfo, frames: FrameRange, fps: Fraction) -> tuple[int, float]:
    """(chunks the engine will make for this range, the longest chunk's seconds)."""
    low, high = chunk_limits(info)
    seconds = float(frames.seconds(fps))
    if not needs_chunks(frames.seconds(fps), high):
        return 1, seconds
    try:
        return len(plan_chunks(frames, fps, low, high)), high
    except ValueError:  # limits that cannot be met: validation says so; one call is never made either
        return 1, seconds


def plan_requests(providers: Sequence[ProviderInfo], frames: FrameRange, fps: Fraction,
                  takes: int = 1) -> RequestPlan:
    """The calls one Generate of ``frames`` makes with ``providers`` and ``takes`` takes each."""
    takes = max(1, int(takes))
    per_provider = []
    for info in providers:
        chunks, longest = chunk_count(info, frames, fps)
        per_provider.append(ProviderRequests(info.id, info.label, chunks, takes, longest))
    return RequestPlan(tuple(per_provider), float(frames.seconds(fps)))


def script_limit(scene_limit: int, preference: int) -> int:
    """The most calls a script may make: ``scene.foley.max_requests``, 0 meaning the preference."""
    return int(scene_limit) if scene_limit > 0 else max(1, int(preference))


def needs_question(plan: RequestPlan, ask_above: int) -> bool:
    """An interactive Generate asks first above the preference (even when the price is unknown)."""
    return plan.calls > max(1, int(ask_above))


def question(plan: RequestPlan, price_text: str = "", possible_fills: int = 0) -> str:
    """What the confirmation dialog says; ``price_text`` like "≈ $1.20" when the price is known.

    ``possible_fills``: follow-ups a short result may add ("Fill short results", ``core/filling.py``).
    """
    fills = ""
    if possible_fills:
        fills = f"; up to {_count(possible_fills, 'more call')} if a result comes back short"
    return f"This makes {plan.describe()}, {price_text or 'price unknown'}{fills}."


def script_refusal(plan: RequestPlan, limit: int) -> str:
    """The sentence refusing a script's request above its limit; "" when it is within it."""
    if plan.calls <= limit:
        return ""
    return (f"This would make {plan.describe()}, above the limit of {limit} for scripts; nothing was sent. "
            f"Set scene.foley.max_requests = {plan.calls} (or more) to allow it, or choose a shorter range "
            "or fewer takes.")
