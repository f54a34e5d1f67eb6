"""A total time limit for the vendor requests made inside a ``with request_deadline(s):`` block.

The engine's poll loop has its own deadline; a single slow request (a trickling
answer) must not outlive it, so the loop says how much time is left and
``VendorHttp`` ends any request still running then. A context variable, so the
provider methods keep their signatures; light (no requests), so ``core`` may import it.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Iterator

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "foley_request_deadline", default=None
)


@contextlib.contextmanager
def request_deadline(seconds: float | None) -> Iterator[None]:
    """Requests inside the block end within ``seconds`` (None: no extra limit)."""
    if seconds is None:
        yield
        return
    end = time.monotonic() + max(0.0, seconds)
    outer = _deadline.get()
    token = _deadline.set(end if outer is None else min(outer, end))
    try:
        yield
    finally:
        _deadline.reset(token)


def remaining(default: float) -> float:
    """Seconds left before the innermost deadline, at most ``default``."""
    end = _deadline.get()
    if end is None:
        return default
    return max(0.0, min(default, end - time.monotonic()))
