import pytest
from core_fakes import make_info

from vse_foley.core.cost import estimate_cost
from vse_foley.providers.base import PriceEstimate

KLING = make_info("kling.v2a", min_seconds=3, max_seconds=20, price=PriceEstimate(per_call=0.10))
WAVE = make_info("wavespeed.ts", min_seconds=1, max_seconds=30, price=PriceEstimate(per_second=0.01))
VIDU = make_info("vidu.t2a", min_seconds=2, max_seconds=10, price=None)


def test_chunks_times_variations_times_providers():
    estimate = estimate_cost([KLING, WAVE], 45.0, variations=2)
    # Kling: 3 chunks × 2 takes × $0.10; WaveSpeed: 2 chunks (≤ 30 s) × 2 takes × $0.01/s over ≈46 s
    kling, wave = estimate.per_provider
    assert (kling.calls, wave.calls) == (6, 4)
    assert kling.amount == pytest.approx(0.60)
    assert wave.amount == pytest.approx(2 * 0.01 * (45.0 + 0.75), abs=0.005)
    assert estimate.total == pytest.approx(kling.amount + wave.amount)
    assert estimate.text.startswith("≈ $") and "10 calls" in estimate.text


def test_unknown_price_makes_the_total_unknown():
    estimate = estimate_cost([KLING, VIDU], 8.0)
    assert estimate.total is None
    assert estimate.known_part == pytest.approx(0.10)
    assert "price unknown for Vidu.T2A" in estimate.text
    only_unknown = estimate_cost([VIDU], 8.0)
    assert only_unknown.total is None and only_unknown.text == "1 paid call, price unknown"


def test_mixed_currencies_are_not_added():
    yuan = make_info("x.y", price=PriceEstimate(currency="CNY", per_call=1.0))
    estimate = estimate_cost([KLING, yuan], 5.0)
    assert estimate.total is None and "several currencies" in estimate.text


def test_filling_short_results_is_said_as_a_possible_extra_not_added():
    plain = estimate_cost([KLING, WAVE], 8.0, variations=2)
    filled = estimate_cost([KLING, WAVE], 8.0, variations=2, fill_short=True)
    assert filled.total == pytest.approx(plain.total)  # most results are not short: not in the total
    assert filled.possible_extra_calls == 4  # one follow-up per single-call result, at most
    assert filled.possible_extra_amount == pytest.approx(2 * 0.10 + 2 * 0.01 * 8.0)
    assert filled.text == f"{plain.text}; up to 4 more calls, at most $0.36 if a result comes back short"


def test_chunked_ranges_and_unknown_prices_in_the_possible_extra():
    chunked = estimate_cost([KLING], 45.0, fill_short=True)  # chunks are never filled
    assert chunked.possible_extra_calls == 0 and "short" not in chunked.text
    unknown = estimate_cost([VIDU], 8.0, fill_short=True)
    assert unknown.possible_extra_calls == 1 and unknown.possible_extra_amount is None
    assert unknown.text == "1 paid call, price unknown; up to 1 more call if a result comes back short"


# -- issue 14: published prices, with where and when they were read ------------------------------

def test_every_published_price_carries_its_page_and_date():
    from vse_foley.providers import all_provider_infos, provider_info

    priced = {info.id: info.price for info in all_provider_infos() if info.price is not None}
    # only what a vendor's own page states; everything else stays unknown, never guessed
    assert set(priced) >= {"wavespeed.mmaudio-v2", "wavespeed.sonilo-video-to-sfx",
                           "wavespeed.kling-text-to-audio"}
    for provider_id in ("elevenlabs.sound-effects", "kling.video-to-audio", "vidu.text2audio",
                        "flexstack.audiogen", "wavespeed.think-sound", "wavespeed.hunyuan-video-foley"):
        assert provider_id not in priced
    for provider_id, price in priced.items():
        if provider_info(provider_id).vendor == "comfyui":  # the editor's own server: free, nothing to cite
            assert (price.per_call, price.per_second, price.source) == (0.0, 0.0, "on your server")
            continue
        assert price.source and "." in price.source and len(price.seen) == 7 and price.seen[4] == "-"
        assert price.per_call > 0 or price.per_second > 0


def test_the_estimate_says_when_the_prices_were_seen():
    from vse_foley.providers import provider_info

    mmaudio = provider_info("wavespeed.mmaudio-v2")
    estimate = estimate_cost([mmaudio], 8.0, variations=2)
    assert estimate.total == pytest.approx(2 * 8 * 0.001)
    assert estimate.text == "≈ $0.02 for 2 calls (prices seen 2026-12)"
    assert estimate.price_text == "≈ $0.02 (prices seen 2026-12)"
    mixed = estimate_cost([mmaudio, provider_info("elevenlabs.sound-effects")], 8.0)
    assert mixed.total is None and mixed.price_text == ""
    assert "(prices seen 2026-12) + price unknown for ElevenLabs sound effects" in mixed.text


def test_prices_seen_on_different_dates_are_all_named():
    old = make_info("a.b", price=PriceEstimate(per_call=0.1, source="x.example", seen="2026-11"))
    new = make_info("c.d", price=PriceEstimate(per_call=0.2, source="y.example", seen="2026-12"))
    assert estimate_cost([new, old], 5.0).text.endswith("(prices seen 2026-11, 2026-12)")


def test_planned_chunks_are_priced_as_sent_and_only_single_calls_may_be_filled():
    per_call = KLING
    # three shots: two single calls, and a 45 s range sent as four chunks at its cuts
    planned = {per_call.id: [[4.0], [6.0], [12.0, 9.0, 15.0, 9.0]]}
    estimate = estimate_cost([per_call], 55.0, variations=2, planned=planned, fill_short=True)
    assert estimate.calls == 12
    assert estimate.total == pytest.approx(1.20)
    assert estimate.possible_extra_calls == 4  # two single-call shots × two takes; chunks are never filled
    assert estimate.possible_extra_amount == pytest.approx(0.40)
    even = estimate_cost([per_call], 45.0)
    assert even.calls == 3  # without a plan: today's even split
