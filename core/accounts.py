"""Per vendor account: task slots, a submit-rate bucket, poll pacing and backoff after 429.

Limits belong to the vendor account (one key), not to a model: every WaveSpeed
model shares one key's 3 tasks at once and 5 submits a minute. The engine asks
this book before it starts a job (``try_take``), before each paid submit
(``reserve_submit``) and before each poll (``reserve_poll``); a 429 on a poll
slows every poll of the account (``throttled``). Pure Python, thread-safe, and
driven by an injectable clock so the tests run in milliseconds.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from ..providers.base import AccountLimits

log = logging.getLogger(__name__)

#: A ``Retry-After`` longer than this is capped: the job says when it tries again, never hangs.
MAX_RETRY_AFTER_S = 300.0
#: How long a job waits out "the account is busy" refusals in total before it ends with a sentence.
MAX_BUSY_WAIT_S = 30 * 60.0
#: First wait after a busy refusal without ``Retry-After``; it doubles up to ``MAX_BUSY_BACKOFF_S``.
MIN_BUSY_BACKOFF_S = 5.0
MAX_BUSY_BACKOFF_S = 60.0
#: Poll backoff of the whole account after a 429 without ``Retry-After``: 2 s doubling to 60 s.
MIN_POLL_BACKOFF_S = 2.0
MAX_POLL_BACKOFF_S = 60.0

DEFAULT_LIMITS = AccountLimits("", concurrency=3)


def capped_retry_after(seconds: float | None) -> float | None:
    """``Retry-After`` honoured in full, up to ``MAX_RETRY_AFTER_S``."""
    if seconds is None:
        return None
    return min(MAX_RETRY_AFTER_S, max(0.0, float(seconds)))


def busy_backoff(waited_s: float, retry_after: float | None) -> float:
    """The next wait after a busy refusal: the vendor's ``Retry-After``, else doubling 5 → 60 s.

    ``waited_s`` is how long the job has already waited, so the waits go
    5, 5, 10, 20, 40, 60, 60… without a counter on the job.
    """
    capped = capped_retry_after(retry_after)
    if capped is not None:
        return max(1.0, capped)
    return min(MAX_BUSY_BACKOFF_S, max(MIN_BUSY_BACKOFF_S, waited_s))


class TokenBucket:
    """``per_minute`` requests a minute with a burst of the same size; reservations queue up.

    ``reserve`` takes a token now or the next one to come, and returns how many
    seconds the caller must wait before using it: callers never busy-wait and
    the order of reservations is the order of requests.
    """

    def __init__(self, per_minute: float, clock: Callable[[], float]) -> None:
        self._clock = clock
        self.per_minute = per_minute
        self._capacity = max(1.0, per_minute)
        self._tokens = self._capacity
        self._stamp = clock()

    def reserve(self) -> float:
        if self.per_minute <= 0:
            return 0.0
        now = self._clock()
        rate = self.per_minute / 60.0
        self._tokens = min(self._capacity, self._tokens + (now - self._stamp) * rate)
        self._stamp = now
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / rate


@dataclass
class _Account:
    limits: AccountLimits
    submits: TokenBucket
    polls: TokenBucket
    running: int = 0
    peak: int = 0
    over_released: int = 0  # releases of a slot not taken: always a bug, counted so tests see it
    not_before: float = 0.0  # after a 429 on a poll: nothing is sent before this time
    poll_backoff: float = 0.0


class AccountBook:
    """The shared state of every vendor account this session talks to."""

    def __init__(
        self, limits: Mapping[str, AccountLimits] | None = None, clock: Callable[[], float] | None = None
    ) -> None:
        self._clock = clock or time.monotonic
        self._lock = threading.Lock()
        self._limits: dict[str, AccountLimits] = dict(limits or {})
        self._accounts: dict[str, _Account] = {}

    # -- limits ----------------------------------------------------------------------------------

    def set_limits(self, account: str, limits: AccountLimits) -> None:
        """New limits for ``account`` (a preference changed); running jobs keep their slots."""
        with self._lock:
            self._limits[account] = limits
            state = self._accounts.get(account)
            if state is not None:
                if state.submits.per_minute != limits.submits_per_minute:
                    state.submits = TokenBucket(limits.submits_per_minute, self._clock)
                if state.polls.per_minute != limits.polls_per_minute:
                    state.polls = TokenBucket(limits.polls_per_minute, self._clock)
                state.limits = limits

    def limits(self, account: str) -> AccountLimits:
        with self._lock:
            return self._state(account).limits

    def known(self, account: str) -> bool:
        with self._lock:
            return account in self._limits

    def _state(self, account: str) -> _Account:
        state = self._accounts.get(account)
        if state is None:
            limits = self._limits.get(account) or replace(DEFAULT_LIMITS, label=account)
            state = _Account(
                limits,
                TokenBucket(limits.submits_per_minute, self._clock),
                TokenBucket(limits.polls_per_minute, self._clock),
            )
            self._accounts[account] = state
        return state

    # -- slots -----------------------------------------------------------------------------------

    def try_take(self, account: str) -> bool:
        """Take one of the account's task slots if one is free."""
        with self._lock:
            state = self._state(account)
            if state.running >= max(1, state.limits.concurrency):
                return False
            state.running += 1
            state.peak = max(state.peak, state.running)
            return True

    def release(self, account: str) -> None:
        """Give a slot back. One given back twice would let a job too many start later, and the
        count cannot show it (it never goes below zero), so such a release is counted and logged."""
        with self._lock:
            state = self._state(account)
            if state.running <= 0:
                state.over_released += 1
                log.error("A slot of the %s account was given back without being taken.", account)
                return
            state.running -= 1

    def over_released(self) -> int:
        """Releases of slots never taken, over every account (tests: always 0)."""
        with self._lock:
            return sum(state.over_released for state in self._accounts.values())

    def running(self, account: str) -> int:
        with self._lock:
            return self._state(account).running

    def peak(self, account: str) -> int:
        """Most slots of the account ever taken at once (tests and the bench read it)."""
        with self._lock:
            return self._state(account).peak

    # -- pacing ----------------------------------------------------------------------------------

    def reserve_submit(self, account: str) -> float:
        """Seconds to wait before the next paid submit to ``account`` (its submits-a-minute bucket)."""
        return self.reserve_submit_at(account) - self._clock()

    def reserve_submit_at(self, account: str) -> float:
        """The time (this book's clock) the next paid submit to ``account`` may leave."""
        with self._lock:
            state = self._state(account)
            now = self._clock()
            return now + max(state.submits.reserve(), state.not_before - now, 0.0)

    def reserve_poll(self, account: str) -> float:
        """Seconds to wait before the next poll: the account's poll rate and any 429 backoff."""
        with self._lock:
            state = self._state(account)
            return max(state.polls.reserve(), state.not_before - self._clock())

    def throttled(self, account: str, retry_after: float | None) -> float:
        """A poll got 429: every request to the account waits; returns the pause in seconds.

        ``Retry-After`` is honoured in full (capped); without it the pause doubles
        from 2 s to 60 s while 429s keep coming, and ``poll_succeeded`` resets it.
        """
        with self._lock:
            state = self._state(account)
            capped = capped_retry_after(retry_after)
            if capped is None:
                state.poll_backoff = min(MAX_POLL_BACKOFF_S, max(MIN_POLL_BACKOFF_S, state.poll_backoff * 2))
                pause = state.poll_backoff
            else:
                pause = capped
            state.not_before = max(state.not_before, self._clock() + pause)
            return state.not_before - self._clock()

    def poll_succeeded(self, account: str) -> None:
        with self._lock:
            self._state(account).poll_backoff = 0.0


# -- sentences on the job ------------------------------------------------------------------------


def busy_note(label: str, seconds: float, code: object = None) -> str:
    what = f" (it answered {code})" if code not in (None, "") else ""
    return (
        f"Waiting for a free slot at {label}: the account is busy{what}, so nothing was created or "
        f"charged. It is sent again by itself in about {math.ceil(seconds)} s; Cancel stops it."
    )


def busy_gave_up(label: str, waited_s: float, code: object = None) -> str:
    what = f" (last answer {code})" if code not in (None, "") else ""
    return (
        f"{label} stayed busy for {math.ceil(waited_s / 60)} minutes{what}, so the job stopped waiting; "
        "nothing was sent or charged. Retry later; if other tools use the same key, lower this account's "
        "'tasks at once' in the preferences."
    )


def submit_rate_note(label: str, per_minute: float, seconds: float) -> str:
    return (
        f"Waiting {math.ceil(seconds)} s before sending: {label} takes {per_minute:g} new tasks a minute "
        "on one account (raise it in the preferences on a higher tier)."
    )


def slow_down_note(label: str, seconds: float) -> str:
    return f"{label} asked to slow down; every job on this account checks again in {math.ceil(seconds)} s."
