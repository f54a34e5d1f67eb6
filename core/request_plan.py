"""How many paid calls one Generate makes, and whether it may make them.

A request is chunks × takes × providers vendor calls: a long range is split
into chunks at the edit's cuts where they fit (``core.shots``; the chunks are
handed to the engine, so the count here is the count sent), each take
is its own job, and *Generate With…* may run several providers. One click must
never silently become dozens of paid calls, so above a limit an interactive
Generate asks first (even when the price is unknown), a script is refused
unless it raises ``scene.foley.max_requests``, and a range that would need more
than ``MAX_CHUNKS`` chunks is refused outright. With "one sound per strip" a
``BatchPlan`` counts every shot's requests together ("4 strips × 2 takes = 8
requests"), asked about once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Protocol

from ..providers.base import ProviderInfo
from .chunks import DEFAULT_OVERLAP_S, chunk_limits, needs_chunks
from .shots import plan_chunks_at_cuts
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


def chunk_ranges(info: ProviderInfo, frames: FrameRange, fps: Fraction,
                 cuts: Sequence[int] = ()) -> list[FrameRange]:
    """The chunks a Generate of ``frames`` sends to ``info``: at the edit's ``cuts`` where they fit
    (``core.shots``), evenly elsewhere; the whole range when it fits or the limits cannot be met
    (validation then says what is wrong)."""
    low, high = chunk_limits(info)
    if not needs_chunks(frames.seconds(fps), high):
        return [frames]
    try:
        return plan_chunks_at_cuts(frames, fps, low, high, cuts)
    except ValueError:  # limits that cannot be met: validation says so; one call is never made either
        return [frames]


def chunk_count(info: ProviderInfo, frames: FrameRange, fps: Fraction,
                cuts: Sequence[int] = ()) -> tuple[int, float]:
    """(chunks the engine will make for this range, the longest chunk's seconds)."""
    chunks = chunk_ranges(info, frames, fps, cuts)
    return len(chunks), (chunk_limits(info)[1] if len(chunks) > 1 else float(frames.seconds(fps)))


def plan_requests(providers: Sequence[ProviderInfo], frames: FrameRange, fps: Fraction,
                  takes: int = 1, cuts: Sequence[int] = ()) -> RequestPlan:
    """The calls one Generate of ``frames`` makes with ``providers`` and ``takes`` takes each."""
    takes = max(1, int(takes))
    per_provider = []
    for info in providers:
        chunks, longest = chunk_count(info, frames, fps, cuts)
        per_provider.append(ProviderRequests(info.id, info.label, chunks, takes, longest))
    return RequestPlan(tuple(per_provider), float(frames.seconds(fps)))


@dataclass(frozen=True)
class BatchPlan:
    """One sound per strip: one RequestPlan per shot, counted and asked about as a whole."""

    shots: tuple[RequestPlan, ...]

    @property
    def calls(self) -> int:
        return sum(shot.calls for shot in self.shots)

    @property
    def seconds(self) -> float:
        return sum(shot.seconds for shot in self.shots)

    def describe(self) -> str:
        """"4 strips × 2 takes = 8 requests" (× providers; chunks of long strips said after it)."""
        first = self.shots[0].per_provider if self.shots else ()
        takes = first[0].takes if first else 1
        parts = [_count(len(self.shots), "strip"), _count(takes, "take")]
        if len(first) > 1:
            parts.append(_count(len(first), "provider"))
        text = f"{' × '.join(parts)} = {_count(self.calls, 'request')}"
        chunked = sum(1 for shot in self.shots if any(p.chunks > 1 for p in shot.per_provider))
        if chunked:
            text += f" ({_count(chunked, 'long strip')} in chunks)"
        return text

    def too_long(self) -> str:
        return next((shot.too_long() for shot in self.shots if shot.too_long()), "")


class PlanLike(Protocol):
    """What the question and the script limit read: a RequestPlan or a BatchPlan."""

    @property
    def calls(self) -> int: ...

    def describe(self) -> str: ...

    def too_long(self) -> str: ...


def script_limit(scene_limit: int, preference: int) -> int:
    """The most calls a script may make: ``scene.foley.max_requests``, 0 meaning the preference."""
    return int(scene_limit) if scene_limit > 0 else max(1, int(preference))


def needs_question(plan: PlanLike, ask_above: int) -> bool:
    """An interactive Generate asks first above the preference (even when the price is unknown)."""
    return plan.calls > max(1, int(ask_above))


def question(plan: PlanLike, price_text: str = "", possible_fills: int = 0) -> str:
    """What the confirmation dialog says; ``price_text`` like "≈ $1.20" when the price is known.

    ``possible_fills``: follow-ups a short result may add ("Fill short results", ``core/filling.py``).
    """
    fills = ""
    if possible_fills:
        fills = f"; up to {_count(possible_fills, 'more call')} if a result comes back short"
    what = plan.describe() if isinstance(plan, BatchPlan) else f"This makes {plan.describe()}"
    return f"{what}, {price_text or 'price unknown'}{fills}."


def script_refusal(plan: PlanLike, limit: int) -> str:
    """The sentence refusing a script's request above its limit; "" when it is within it."""
    if plan.calls <= limit:
        return ""
    return (f"This would make {plan.describe()}, above the limit of {limit} for scripts; nothing was sent. "
            f"Set scene.foley.max_requests = {plan.calls} (or more) to allow it, or choose a shorter range "
            "or fewer takes.")
