from fractions import Fraction

import pytest
from core_fakes import make_info

from vse_foley.core.chunks import plan_chunks
from vse_foley.core.cost import estimate_cost
from vse_foley.core.request_plan import (
    DEFAULT_ASK_ABOVE_REQUESTS,
    MAX_CHUNKS,
    needs_question,
    plan_requests,
    question,
    script_limit,
    script_refusal,
)
from vse_foley.core.timeline import FrameRange
from vse_foley.providers.base import PriceEstimate
from vse_foley.providers.catalog import INFOS

FPS = Fraction(25)
VIDU = make_info("vidu.t2a", min_seconds=2, max_seconds=10)
KLING = make_info("kling.v2a", min_seconds=3, max_seconds=20, price=PriceEstimate(per_call=0.10))


def minutes(count: float) -> FrameRange:
    return FrameRange(1, round(count * 60 * 25))


def test_six_minutes_with_vidu_is_39_calls_and_asks():
    # the case: a 6-minute scene range, nothing selected, one take
    plan = plan_requests([VIDU], minutes(6), FPS)
    assert plan.calls == 39
    assert needs_question(plan, DEFAULT_ASK_ABOVE_REQUESTS)
    assert "39 paid calls (39 chunks × 1 take)" in question(plan)
    assert question(plan).endswith("price unknown.")  # it asks even when the price is unknown


def test_count_is_chunks_times_takes_times_providers_like_the_engine():
    frames = minutes(1)
    plan = plan_requests([VIDU, KLING], frames, FPS, takes=3)
    vidu_chunks = len(plan_chunks(frames, FPS, 2, 10))  # the engine's own split
    kling_chunks = len(plan_chunks(frames, FPS, 3, 20))
    assert [p.chunks for p in plan.per_provider] == [vidu_chunks, kling_chunks]
    assert plan.calls == (vidu_chunks + kling_chunks) * 3
    assert "of Vidu.T2A" in plan.describe() and "of Kling.V2A" in plan.describe()


def test_a_short_range_is_one_call_and_does_not_ask():
    plan = plan_requests([KLING], FrameRange(1, 100), FPS, takes=4)
    assert plan.calls == 4
    assert not needs_question(plan, DEFAULT_ASK_ABOVE_REQUESTS)
    assert plan.too_long() == ""


def test_the_question_names_a_known_price():
    plan = plan_requests([KLING], minutes(2), FPS, takes=2)
    estimate = estimate_cost([KLING], plan.seconds, variations=2)
    assert estimate.calls == plan.calls  # the estimate counts the same calls
    assert question(plan, estimate.price_text).endswith(f"≈ ${estimate.total:.2f}.")


def test_scripts_are_refused_above_their_limit_unless_they_raise_it():
    plan = plan_requests([VIDU], minutes(6), FPS)
    limit = script_limit(0, DEFAULT_ASK_ABOVE_REQUESTS)  # 0: the preference
    assert limit == DEFAULT_ASK_ABOVE_REQUESTS
    refusal = script_refusal(plan, limit)
    assert "scene.foley.max_requests = 39" in refusal and "nothing was sent" in refusal
    assert script_refusal(plan, script_limit(39, DEFAULT_ASK_ABOVE_REQUESTS)) == ""
    assert script_refusal(plan, script_limit(38, 100)) != ""  # the scene's limit wins over the preference


def test_a_range_needing_more_than_the_hard_cap_of_chunks_is_refused():
    huge = plan_requests([VIDU], minutes(120), FPS)
    assert huge.per_provider[0].chunks > MAX_CHUNKS
    sentence = huge.too_long()
    assert "120.0-minute range" in sentence and f"at most {MAX_CHUNKS}" in sentence
    assert "choose a shorter range" in sentence
    fits = plan_requests([VIDU], minutes(5), FPS)
    assert fits.per_provider[0].chunks <= MAX_CHUNKS and fits.too_long() == ""


@pytest.mark.parametrize("info", list(INFOS.values()), ids=list(INFOS))
def test_every_catalog_provider_is_counted(info):
    plan = plan_requests([info], minutes(3), FPS, takes=2)
    assert plan.calls >= 2 and plan.calls % 2 == 0


def test_the_question_names_the_follow_ups_a_short_result_may_add():
    plan = plan_requests([KLING], FrameRange(1, 200), FPS, takes=2)
    assert question(plan, "≈ $0.20", possible_fills=2).endswith(
        "≈ $0.20; up to 2 more calls if a result comes back short.")
    assert question(plan, "≈ $0.20") == f"This makes {plan.describe()}, ≈ $0.20."


def test_a_long_range_is_counted_with_its_cuts_like_the_chunks_sent():
    from vse_foley.core.request_plan import chunk_ranges

    frames = FrameRange(101, 1225)  # 45 s: shots of 12, 9, 15 and 9 s
    cuts = [401, 626, 1001]
    assert plan_requests([KLING], frames, FPS).calls == 3  # no cuts known: the even split
    plan = plan_requests([KLING], frames, FPS, takes=2, cuts=cuts)
    assert plan.calls == 8
    assert [c.start for c in chunk_ranges(KLING, frames, FPS, cuts)] == [101, *cuts]


def test_a_batch_is_counted_and_asked_about_as_a_whole():
    from vse_foley.core.request_plan import BatchPlan

    shots = [FrameRange(1, 100), FrameRange(101, 250), FrameRange(251, 400), FrameRange(401, 1000)]
    batch = BatchPlan(tuple(plan_requests([KLING], shot, FPS, takes=2) for shot in shots))
    assert batch.calls == 2 + 2 + 2 + 2 * 2  # the 24 s strip is two chunks
    assert batch.describe() == "4 strips × 2 takes = 10 requests (1 long strip in chunks)"
    estimate = estimate_cost([KLING], 0.0, variations=2,
                             planned={KLING.id: [[4.0], [6.0], [6.0], [12.0, 12.0]]})
    assert estimate.calls == batch.calls
    assert question(batch, estimate.price_text) == (
        f"4 strips × 2 takes = 10 requests (1 long strip in chunks), ≈ ${estimate.total:.2f}.")
    assert not needs_question(batch, 12) and needs_question(batch, 9)
    assert "above the limit of 9" in script_refusal(batch, 9) and script_refusal(batch, 10) == ""
    simple = BatchPlan(tuple(plan_requests([KLING, VIDU], shot, FPS, takes=2) for shot in shots[:3]))
    assert simple.describe() == "3 strips × 2 takes × 2 providers = 12 requests"
