"""Cost before spending: chunks × variations × providers, from list prices.

Each chunk of each variation of each provider is one paid call priced with
``ProviderInfo.price.for_seconds(chunk seconds)``. A provider without a known
price makes the total unknown (``total is None``); the known part is still shown.
Prices are the vendors' published ones with the date they were read, so the text
says how old they are: "≈ $0.02 for 2 calls (prices seen 2026-12)".

With "Fill short results" on, a single-call range may need one follow-up for a
result that comes back short (``core/filling.py``). That call is not in the
total (most results are not short) but is said in the text as a possible extra,
priced at its most (a follow-up is never longer than the range).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from ..providers.base import ProviderInfo
from .chunks import DEFAULT_OVERLAP_S, chunk_limits, plan_chunk_seconds

#: the price source of a self-hosted provider (``catalog``): nothing is billed
ON_YOUR_SERVER = "on your server"


@dataclass(frozen=True)
class ProviderCost:
    provider_id: str
    calls: int  # chunks × variations
    amount: float | None  # None: price unknown
    currency: str


@dataclass(frozen=True)
class CostEstimate:
    total: float | None  # None when any provider's price is unknown
    known_part: float  # sum of the providers whose price is known
    currency: str
    calls: int
    per_provider: tuple[ProviderCost, ...]
    text: str  # what the UI shows next to Generate
    #: when the prices used were read from the vendors' pages ("2026-12"; "2026-11, 2026-12")
    prices_seen: str = ""
    #: follow-ups a short result may add ("Fill short results"), and their most (None: unknown)
    possible_extra_calls: int = 0
    possible_extra_amount: float | None = 0.0

    @property
    def price_text(self) -> str:
        """"≈ $1.20 (prices seen 2026-12)" when the whole price is known, else ""."""
        if self.total is None:
            return ""
        return f"≈ {_money(self.total, self.currency)}{_seen(self.prices_seen)}"


def _seen(dates: str) -> str:
    return f" (prices seen {dates})" if dates else ""


def _money(amount: float, currency: str) -> str:
    return f"${amount:.2f}" if currency == "USD" else f"{amount:.2f} {currency}"


#: per provider id, the chunk seconds of each range a Generate sends (a batch of shots, cut-aware chunks)
PlannedChunks = Mapping[str, Sequence[Sequence[float]]]


def estimate_cost(
    providers: Sequence[ProviderInfo],
    seconds: float,
    *,
    variations: int = 1,
    overlap_seconds: float = DEFAULT_OVERLAP_S,
    fill_short: bool = False,
    planned: PlannedChunks | None = None,
) -> CostEstimate:
    """Estimate for ``seconds`` of range sent to each provider ``variations`` times.

    ``planned``: the chunks already chosen, per provider and range (``blender.generation``
    for one sound per strip and chunks at cuts); without it one range is split evenly.
    """
    def ranges_of(info: ProviderInfo) -> Sequence[Sequence[float]]:
        if planned is not None and info.id in planned:
            return planned[info.id]
        low, high = chunk_limits(info)
        try:
            return [plan_chunk_seconds(seconds, low, high, overlap_seconds=overlap_seconds)]
        except ValueError:
            return [[seconds]]

    estimate = _estimate(providers, ranges_of, variations)
    if not fill_short:
        return estimate
    return _with_possible_fills(estimate, providers, ranges_of, variations)


def _with_possible_fills(
    estimate: CostEstimate, providers: Sequence[ProviderInfo],
    ranges_of: Callable[[ProviderInfo], Sequence[Sequence[float]]], variations: int,
) -> CostEstimate:
    """Say the follow-ups short results may add: one per single-call result (a chunk is never filled)."""
    extra_calls = 0
    extra_amount: float | None = 0.0
    for info in providers:
        for chunks in ranges_of(info):
            if len(chunks) != 1:
                continue
            extra_calls += variations
            if info.price is None or extra_amount is None:
                extra_amount = None
            else:
                extra_amount += variations * info.price.for_seconds(chunks[0])
    if not extra_calls:
        return estimate
    plural = "s" if extra_calls != 1 else ""
    at_most = (f", at most {_money(extra_amount, estimate.currency)}"
               if extra_amount is not None and estimate.currency else "")
    text = f"{estimate.text}; up to {extra_calls} more call{plural}{at_most} if a result comes back short"
    return replace(estimate, text=text, possible_extra_calls=extra_calls, possible_extra_amount=extra_amount)


def _estimate(
    providers: Sequence[ProviderInfo], ranges_of: Callable[[ProviderInfo], Sequence[Sequence[float]]],
    variations: int,
) -> CostEstimate:
    per_provider: list[ProviderCost] = []
    unknown: list[str] = []
    currencies: set[str] = set()
    for info in providers:
        chunk_seconds = [chunk for chunks in ranges_of(info) for chunk in chunks]
        calls = len(chunk_seconds) * variations
        if info.price is None:
            unknown.append(info.label)
            per_provider.append(ProviderCost(info.id, calls, None, ""))
            continue
        price = info.price
        amount = variations * sum(price.for_seconds(s) for s in chunk_seconds)
        currencies.add(price.currency)
        per_provider.append(ProviderCost(info.id, calls, amount, price.currency))
    dates = {info.price.seen for info in providers if info.price is not None and info.price.seen}
    seen = ", ".join(sorted(dates))
    known = sum(cost.amount for cost in per_provider if cost.amount is not None)
    calls = sum(cost.calls for cost in per_provider)
    currency = next(iter(currencies)) if len(currencies) == 1 else ""
    plural = "s" if calls != 1 else ""
    if len(currencies) > 1:
        text = f"{calls} paid call{plural}; prices in several currencies"
        return CostEstimate(None, known, "", calls, tuple(per_provider), text)
    if not currencies:
        text = f"{calls} paid call{plural}, price unknown"
        return CostEstimate(None, 0.0, "", calls, tuple(per_provider), text)
    if unknown:
        names = ", ".join(unknown)
        text = f"≈ {_money(known, currency)} for {calls} call{plural}{_seen(seen)} + price unknown for " \
            f"{names}"
        return CostEstimate(None, known, currency, calls, tuple(per_provider), text, prices_seen=seen)
    self_hosted = all(info.price is not None and info.price.source == ON_YOUR_SERVER for info in providers)
    if known == 0 and self_hosted:
        text = f"free: {calls} run{plural} {ON_YOUR_SERVER}"  # a self-hosted server (ComfyUI) bills nothing
        return CostEstimate(0.0, 0.0, currency, calls, tuple(per_provider), text)
    text = f"≈ {_money(known, currency)} for {calls} call{plural}{_seen(seen)}"
    return CostEstimate(known, known, currency, calls, tuple(per_provider), text, prices_seen=seen)
