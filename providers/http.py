"""One HTTP session per provider: timeouts, safe retries, redaction and the poll schedule.

Retry rules (the reason this module exists):

* idempotent calls (GET polls, downloads, free uploads, logins) are retried with
  exponential backoff on connection errors, timeouts and HTTP 429/5xx, honouring
  ``Retry-After`` up to a cap;
* a paid submit is sent on a fresh connection and is re-sent only when it
  certainly never left (connection refused) or the vendor answered with a
  definite refusal (429 / 503); any other failure after the bytes may have left
  raises ``SubmitUncertainError`` and is never retried here.

Nothing logged or raised here contains a key, token, JWT or a URL's query string.
"""

from __future__ import annotations

import email.utils
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError

from .errors import CancelledError, FoleyError, NetworkError, SubmitUncertainError, VendorBusyError
from .settings import HttpTuning

log = logging.getLogger(__name__)

#: Statuses worth another try for an idempotent call.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Statuses that prove a submit was refused without creating a task.
SUBMIT_REFUSED_STATUSES = frozenset({429, 503})

_JWT_RE = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}")
_AUTH_RE = re.compile(r"(?i)\b(bearer|token|basic)\s+[A-Za-z0-9._~+/=-]{8,}")


def safe_url(url: str) -> str:
    """The URL without user info, query string or fragment (signed queries stay private)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid URL>"
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class Redactor:
    """Replaces every known secret (keys, passwords, issued tokens) and anything JWT-shaped."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str) -> None:
        if secret and len(secret) >= 4:
            with self._lock:
                self._secrets.add(secret)

    def __call__(self, text: object) -> str:
        result = str(text)
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            result = result.replace(secret, "****")
        result = _JWT_RE.sub("****", result)
        return _AUTH_RE.sub(lambda m: f"{m.group(1)} ****", result)


class _QueryStringFilter(logging.Filter):
    """urllib3 logs request lines with their query strings; signed result URLs must not leak."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(
                re.sub(r"\?[^\s\"']*", "?…", arg) if isinstance(arg, str) and "?" in arg else arg
                for arg in record.args
            )
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_QueryStringFilter())


@dataclass(frozen=True)
class PollSchedule:
    """Waits between status requests: 1 s growing ×1.5 to 10 s (≈10 requests in the first minute)."""

    first: float = 1.0
    factor: float = 1.5
    maximum: float = 10.0

    def intervals(self) -> Iterator[float]:
        interval = self.first
        while True:
            yield interval
            interval = min(self.maximum, interval * self.factor)

    def requests_within(self, seconds: float) -> int:
        """How many status requests the schedule makes in ``seconds`` of vendor latency."""
        count, elapsed = 0, 0.0
        for interval in self.intervals():
            elapsed += interval
            if elapsed > seconds:
                return count
            count += 1
        return count  # pragma: no cover - the generator is endless


def retry_after_seconds(response: requests.Response) -> float | None:
    """The ``Retry-After`` header as seconds (delta or HTTP date), or None."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def with_retry_after(error: FoleyError, response: requests.Response) -> FoleyError:
    """A busy refusal carries the vendor's ``Retry-After``, so the engine waits as long as asked."""
    if isinstance(error, VendorBusyError) and error.retry_after is None:
        error.retry_after = retry_after_seconds(response)
    return error


def _refused(exc: BaseException) -> bool:
    """True when the connection was refused: the request certainly never left."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError):
            return True
        if isinstance(current, MaxRetryError):
            stack.append(current.reason)
        stack.extend([current.__cause__, current.__context__])
        stack.extend(arg for arg in getattr(current, "args", ()) if isinstance(arg, BaseException))
    return False


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the failure happened before any byte of the request could leave."""
    if isinstance(exc, requests.ConnectTimeout) or _refused(exc):
        return True
    if isinstance(exc, requests.ConnectionError):
        reason = exc.args[0] if exc.args else None
        if isinstance(reason, MaxRetryError):
            return isinstance(reason.reason, ConnectTimeoutError)  # includes DNS and "new connection" errors
    return False


def _describe(exc: BaseException) -> str:
    """A short, URL-free name for a network failure."""
    if _refused(exc):
        return "connection refused"
    if isinstance(exc, requests.ConnectTimeout):
        return "connection timed out"
    if isinstance(exc, requests.ReadTimeout):
        return "no answer in time"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS/certificate error"
    if isinstance(exc, requests.ConnectionError):
        return "connection failed or was dropped"
    return type(exc).__name__


ResponseCheck = Callable[[requests.Response], bool]

# Issue 9: a 429 slows the whole vendor ACCOUNT, not only the request that got it. One key per
# vendor, so the vendor's label names the account; every VendorHttp of that vendor waits.
_ACCOUNT_PAUSES: dict[str, float] = {}  # label → monotonic time before which nothing is sent
_ACCOUNT_PAUSES_LOCK = threading.Lock()


def pause_account(label: str, seconds: float) -> None:
    """After a 429: no idempotent request to this vendor's account leaves for ``seconds``."""
    with _ACCOUNT_PAUSES_LOCK:
        _ACCOUNT_PAUSES[label] = max(_ACCOUNT_PAUSES.get(label, 0.0), time.monotonic() + seconds)


def account_pause_left(label: str) -> float:
    with _ACCOUNT_PAUSES_LOCK:
        return max(0.0, _ACCOUNT_PAUSES.get(label, 0.0) - time.monotonic())


class VendorHttp:
    """The HTTP client of one provider instance (thread-safe enough for one job at a time)."""

    def __init__(self, label: str, tuning: HttpTuning, secrets: Iterable[str] = ()) -> None:
        self.label = label
        self.tuning = tuning
        self.redact = Redactor(secrets)
        self.session = self._new_session()

    @staticmethod
    def _new_session() -> requests.Session:
        session = requests.Session()
        session.trust_env = True  # proxies from the environment, as users expect
        adapter = requests.adapters.HTTPAdapter(max_retries=0)  # retries are decided here, not in urllib3
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        session.headers["User-Agent"] = "vse-foley (Blender VSE add-on)"
        return session

    def close(self) -> None:
        self.session.close()

    # -- waiting -----------------------------------------------------------------------------------

    def _delay(self, attempt: int, response: requests.Response | None) -> float:
        if response is not None:
            after = retry_after_seconds(response)
            if after is not None:
                return min(after, self.tuning.max_retry_after)
        return min(self.tuning.max_backoff, self.tuning.backoff * (2**attempt))

    def _sleep(self, seconds: float, cancel: threading.Event | None) -> None:
        if cancel is None:
            time.sleep(seconds)
        elif cancel.wait(seconds):
            raise CancelledError("Cancelled while waiting to retry a request to " + self.label + ".")

    # -- sending -----------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        files: Any = None,
        stream: bool = False,
        read_timeout: float | None = None,
        retry_response: ResponseCheck | None = None,
        cancel: threading.Event | None = None,
    ) -> requests.Response:
        """An idempotent (free) call, retried on network errors and retryable answers.

        ``retry_response`` decides which answers are worth another try (default: HTTP 429/5xx).
        ``files`` may be a callable returning fresh multipart files for each attempt.
        Returns the last response, whatever its status; raises NetworkError when unreachable.
        """
        should_retry = retry_response or (lambda r: r.status_code in RETRY_STATUSES)
        timeout = (self.tuning.connect_timeout, read_timeout or self.tuning.read_timeout)
        attempts = self.tuning.retries + 1
        for attempt in range(attempts):
            if cancel is not None and cancel.is_set():
                raise CancelledError(f"Cancelled before contacting {self.label}.")
            paused = account_pause_left(self.label)
            if paused > 0:  # another job of this account was told to slow down
                self._sleep(paused, cancel)
            try:
                response = self.session.request(
                    method,
                    url,
                    headers=dict(headers or {}),
                    params=params,
                    json=json,
                    data=data,
                    files=files() if callable(files) else files,
                    stream=stream,
                    timeout=timeout,
                )
            except requests.RequestException as exc:
                what = _describe(exc)
                log.info(
                    "%s %s %s failed (%s), attempt %d/%d",
                    self.label,
                    method,
                    safe_url(url),
                    what,
                    attempt + 1,
                    attempts,
                )
                if attempt + 1 >= attempts:
                    raise NetworkError(
                        f"Could not reach {self.label} ({what}). Check the internet connection or the "
                        f"{self.label} service status, then try again."
                    ) from None
                self._sleep(self._delay(attempt, None), cancel)
                continue
            log.debug("%s %s %s -> HTTP %d", self.label, method, safe_url(url), response.status_code)
            if response.status_code == 429:
                pause_account(self.label, self._delay(attempt, response))
            if attempt + 1 < attempts and should_retry(response):
                delay = self._delay(attempt, response)
                log.info(
                    "%s answered HTTP %d to %s; retrying in %.2f s",
                    self.label,
                    response.status_code,
                    safe_url(url),
                    delay,
                )
                response.close()
                self._sleep(delay, cancel)
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def submit(
        self,
        url: str,
        *,
        headers: Mapping[str, str],
        json: Any,
        refused_response: ResponseCheck | None = None,
    ) -> requests.Response:
        """Send a paid request. Re-sent only when it certainly did not create a task.

        ``refused_response`` says which answers prove the vendor refused it (default HTTP 429/503);
        those are retried with backoff. Raises SubmitUncertainError when the request may have
        reached the vendor but no usable answer came back.
        """
        is_refused = refused_response or (lambda r: r.status_code in SUBMIT_REFUSED_STATUSES)
        attempts = self.tuning.submit_retries + 1
        timeout = (self.tuning.connect_timeout, self.tuning.read_timeout)
        for attempt in range(attempts):
            # A fresh connection: a stale pooled one could drop after the bytes left.
            with self._new_session() as session:
                try:
                    response = session.post(url, headers=dict(headers), json=json, timeout=timeout)
                    response.content  # noqa: B018 - read the body now: a cut body is also uncertain
                except requests.RequestException as exc:
                    what = _describe(exc)
                    if _refused(exc):
                        log.info(
                            "%s submit to %s refused (never sent), attempt %d/%d",
                            self.label,
                            safe_url(url),
                            attempt + 1,
                            attempts,
                        )
                        if attempt + 1 < attempts:
                            self._sleep(self._delay(attempt, None), None)
                            continue
                    if _never_sent(exc):
                        raise NetworkError(
                            f"Could not reach {self.label} to start the task ({what}); nothing was sent or "
                            "charged. Check the internet connection and try again."
                        ) from None
                    log.warning("%s submit to %s got no answer (%s)", self.label, safe_url(url), what)
                    raise SubmitUncertainError(
                        f"{self.label} did not answer the request that starts the task ({what}), so it is "
                        f"not known whether a paid task was created. Check your {self.label} dashboard "
                        "before generating again, to avoid paying twice."
                    ) from None
            log.debug("%s POST %s -> HTTP %d", self.label, safe_url(url), response.status_code)
            asked = retry_after_seconds(response)
            if asked is not None and asked > self.tuning.max_retry_after and is_refused(response):
                return response  # a long Retry-After: the engine waits it out in full, without a slot
            if attempt + 1 < attempts and is_refused(response):
                delay = self._delay(attempt, response)
                log.info(
                    "%s refused the submit with HTTP %d; retrying in %.2f s",
                    self.label,
                    response.status_code,
                    delay,
                )
                self._sleep(delay, None)
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover


def json_body(response: requests.Response) -> Any:
    """The response JSON, or None when the body is not JSON."""
    try:
        return response.json()
    except ValueError:
        return None


def uncertain_answer(label: str, status: int) -> SubmitUncertainError:
    """A submit answered with a server error: the task may or may not exist."""
    return SubmitUncertainError(
        f"{label} answered the request that starts the task with a server error (HTTP {status}), so it is "
        f"not known whether a paid task was created. Check your {label} dashboard before generating again, "
        "to avoid paying twice.",
        vendor_code=status,
    )
