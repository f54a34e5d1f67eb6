"""core/accounts.py: per-account slots, the submit bucket, poll pacing and 429 backoff (a manual clock)."""

import pytest

from vse_foley.core import accounts
from vse_foley.core.accounts import AccountBook, TokenBucket, busy_backoff, capped_retry_after
from vse_foley.providers.base import AccountLimits
from vse_foley.providers.catalog import ACCOUNT_LIMITS, INFOS


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_every_wavespeed_model_shares_one_account_and_both_vidu_endpoints_another():
    accounts_of = {info.id: info.account_id for info in INFOS.values()}
    assert {accounts_of[p] for p in accounts_of if p.startswith("wavespeed.")} == {"wavespeed"}
    assert accounts_of["wavespeed.kling-video-to-audio"] == "wavespeed"  # a Kling model on a WaveSpeed key
    assert accounts_of["kling.video-to-audio"] == "kling"
    assert accounts_of["vidu.text2audio"] == accounts_of["vidu.timing2audio"] == "vidu"
    assert accounts_of["flexstack.audiogen"] == "flexstack"
    # the documented default tiers
    assert (ACCOUNT_LIMITS["wavespeed"].concurrency, ACCOUNT_LIMITS["wavespeed"].submits_per_minute) == (3, 5)
    assert ACCOUNT_LIMITS["vidu"].concurrency == 5
    assert ACCOUNT_LIMITS["kling"].concurrency == 2 and ACCOUNT_LIMITS["flexstack"].concurrency == 2
    assert all(limits.submits_per_minute > 0 for limits in ACCOUNT_LIMITS.values())  # always bounded


def test_slots_are_counted_per_account_and_the_peak_is_kept():
    book = AccountBook({"ws": AccountLimits("WaveSpeed", concurrency=3)}, Clock())
    assert [book.try_take("ws") for _ in range(4)] == [True, True, True, False]
    book.release("ws")
    assert book.try_take("ws") and not book.try_take("ws")
    assert book.running("ws") == 3 and book.peak("ws") == 3
    assert book.try_take("other")  # an unknown account gets the default limits, on its own


def test_raising_a_limit_frees_slots_for_queued_jobs():
    book = AccountBook({"ws": AccountLimits("WaveSpeed", concurrency=1)}, Clock())
    assert book.try_take("ws") and not book.try_take("ws")
    book.set_limits("ws", AccountLimits("WaveSpeed", concurrency=2))
    assert book.try_take("ws")


def test_submit_bucket_allows_a_burst_then_one_every_twelve_seconds():
    clock = Clock()
    book = AccountBook({"ws": AccountLimits("WaveSpeed", concurrency=3, submits_per_minute=5)}, clock)
    waits = [book.reserve_submit("ws") for _ in range(7)]
    assert waits[:5] == [0.0] * 5
    assert waits[5] == pytest.approx(12.0) and waits[6] == pytest.approx(24.0)  # reservations queue up
    clock.now += 60
    # a minute later the bucket has refilled by 5, of which 2 were already reserved
    assert [book.reserve_submit("ws") for _ in range(3)] == pytest.approx([0.0, 0.0, 0.0])
    assert book.reserve_submit("ws") == pytest.approx(12.0)


def test_no_more_than_the_bucket_allows_in_any_minute_whatever_the_number_of_callers():
    clock = Clock()
    bucket = TokenBucket(5, clock)
    sent_at = [clock.now + bucket.reserve() for _ in range(50)]
    for start in sent_at:
        in_window = sum(1 for t in sent_at if start <= t < start + 60)
        assert in_window <= 5 + 5  # the burst plus one minute of refill, never more


def test_zero_means_unbounded():
    book = AccountBook(
        {"x": AccountLimits("X", concurrency=1, submits_per_minute=0, polls_per_minute=0)}, Clock()
    )
    assert all(book.reserve_submit("x") == 0 for _ in range(100))
    assert all(book.reserve_poll("x") == 0 for _ in range(100))


def test_a_poll_429_pauses_every_request_of_the_account():
    clock = Clock()
    book = AccountBook({"ws": AccountLimits("WaveSpeed", concurrency=3, polls_per_minute=0)}, clock)
    assert book.throttled("ws", 20.0) == pytest.approx(20.0)
    assert book.reserve_poll("ws") == pytest.approx(20.0)  # another job's poll waits too
    assert book.reserve_submit("ws") == pytest.approx(20.0)
    assert book.reserve_poll("other") == 0.0  # other accounts are not slowed
    clock.now += 20
    assert book.reserve_poll("ws") == 0.0


def test_poll_backoff_without_retry_after_doubles_and_resets():
    clock = Clock()
    book = AccountBook({"k": AccountLimits("Kling", concurrency=2, polls_per_minute=0)}, clock)
    pauses = []
    for _ in range(7):
        pauses.append(book.throttled("k", None))
        clock.now += pauses[-1]
    assert pauses == pytest.approx([2, 4, 8, 16, 32, 60, 60])
    book.poll_succeeded("k")
    assert book.throttled("k", None) == pytest.approx(2)


def test_polls_are_paced_per_account():
    clock = Clock()
    book = AccountBook({"v": AccountLimits("Vidu", concurrency=5, polls_per_minute=60)}, clock)
    waits = [book.reserve_poll("v") for _ in range(62)]
    assert waits[:60] == [0.0] * 60 and waits[60] == pytest.approx(1.0) and waits[61] == pytest.approx(2.0)


def test_retry_after_is_honoured_in_full_up_to_the_cap():
    assert capped_retry_after(None) is None
    assert capped_retry_after(42) == 42
    assert capped_retry_after(10_000) == accounts.MAX_RETRY_AFTER_S == 300
    assert busy_backoff(0, 42) == 42
    assert busy_backoff(0, 0) == 1.0  # "now" still waits a second, never a hot loop


def test_busy_backoff_doubles_from_five_seconds_to_a_minute():
    waited, waits = 0.0, []
    for _ in range(8):
        waits.append(busy_backoff(waited, None))
        waited += waits[-1]
    assert waits == [5, 5, 10, 20, 40, 60, 60, 60]


def test_preferences_raise_an_accounts_limits_and_zero_keeps_the_default():
    from vse_foley.providers.settings import account_limit_pref_names, account_limits

    assert "wavespeed_tasks_at_once" in account_limit_pref_names()
    assert "vidu_submits_per_minute" in account_limit_pref_names()
    limits = account_limits(
        {"wavespeed_tasks_at_once": 10, "wavespeed_submits_per_minute": "60", "vidu_tasks_at_once": 0}
    )
    assert (limits["wavespeed"].concurrency, limits["wavespeed"].submits_per_minute) == (10, 60)
    assert limits["vidu"] == ACCOUNT_LIMITS["vidu"] and limits["kling"] == ACCOUNT_LIMITS["kling"]
    assert account_limits({"kling_tasks_at_once": "lots"})["kling"] == ACCOUNT_LIMITS["kling"]


def test_a_slot_given_back_without_being_taken_is_counted_not_hidden():
    book = accounts.AccountBook({"acct": AccountLimits("Acct", 1)})
    assert book.try_take("acct")
    book.release("acct")
    assert book.over_released() == 0
    book.release("acct")  # a second give-back of the same slot
    assert book.over_released() == 1 and book.running("acct") == 0
    assert book.try_take("acct") and not book.try_take("acct")  # the limit still holds after it
