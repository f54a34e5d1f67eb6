"""One HTTP session per provider: timeouts, safe retries and redaction (the poll schedule: polling.py).

Retry rules (the reason this module exists):

* idempotent calls (GET polls, downloads, free uploads, logins) are retried with
  exponential backoff on connection errors, timeouts and HTTP 429/5xx, honouring
  ``Retry-After`` up to a cap;
* a paid submit is sent on a fresh connection and is re-sent only when it
  certainly never left (connection refused) or the vendor answered with a
  definite refusal (429, or a vendor's own refusal code the provider names); any
  other failure after the bytes may have left - a bare 503 included: a gateway may
  say "unavailable" after the vendor made the task - raises ``SubmitUncertainError``
  or is the provider's "lost answer", and is never retried here. The waits between
  re-sends end at once on Cancel or shutdown (the job's ``cancel`` event).

Bounds (issue 11): every answer body is read with a size cap counted after
decompression (``max_answer_bytes``) and within one total read deadline, not a
per-read timeout, so an endless, gzip-bomb or trickling answer ends; a watchdog
shuts the socket down at the deadline or on Cancel, so a blocked read returns at
once. Redirects are followed by hand, each hop checked against the
https-or-loopback rule; a refused hop is an error at once, never retried. A
``providers.deadline.request_deadline`` block (the engine's poll loop) shortens
every limit to the time it has left.

Nothing logged or raised here contains a key, token, JWT or a URL's query string.
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import os
import re
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import quote, quote_plus, urljoin, urlsplit, urlunsplit

import requests
from urllib3.exceptions import ConnectTimeoutError, HTTPError, MaxRetryError

from . import deadline
from .errors import (
    CancelledError,
    FoleyError,
    NetworkError,
    ServiceUnavailableError,
    SubmitUncertainError,
    TaskGoneError,
    VendorBusyError,
)
from .settings import HttpTuning, is_loopback_host

_CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "x-api-key", "proxy-authorization"})

log = logging.getLogger(__name__)

#: Statuses worth another try for an idempotent call.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Statuses that prove a submit was refused without creating a task (a bare 503 does not: issue 9).
SUBMIT_REFUSED_STATUSES = frozenset({429})

#: the most an API answer may hold after decompression (a poll answer is a few KB)
MAX_ANSWER_BYTES = 4 * 1024 * 1024
MAX_REDIRECTS = 5
#: a result file must arrive within this (a 200 MB file at 1 MB/s takes about 3.5 minutes)
DOWNLOAD_DEADLINE_S = 15 * 60.0
_READ_SIZE = 16 * 1024


class AnswerTooLargeError(NetworkError):
    """An answer larger than the cap: read no further, and do not ask again at once."""

    retryable = False


class SlowAnswerError(NetworkError):
    """The answer did not arrive whole within its deadline (a stalled or trickling body)."""


class RefusedRedirectError(NetworkError):
    """A redirect to an address outside the https-or-loopback rule: not followed, not retried."""

    retryable = False


def path_segment(value: object) -> str:
    """An id from a vendor, escaped as one URL path segment (``../`` and ``?`` stay inside it)."""
    return quote(str(value), safe="")


def allowed_address(url: str) -> bool:
    """Only https, or plain http to this computer (the test emulators)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return False
    return bool(host) and (parts.scheme == "https" or (parts.scheme == "http" and is_loopback_host(host)))


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
    """Replaces every known secret (keys, passwords, issued tokens) and anything JWT-shaped.

    A secret is found in any letter case and URL-encoded (``%2F`` or ``%2f``,
    ``+`` for spaces), because vendors echo what they were sent in odd forms.
    Every secret added here is also redacted from the extension's log records
    (``RedactingLogFilter``).
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()
        self._pattern: re.Pattern[str] | None = None
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str) -> None:
        if secret and len(secret) >= 4:
            with self._lock:
                if secret not in self._secrets:
                    self._secrets.add(secret)
                    self._pattern = None
            if self is not LOG_REDACTOR:
                LOG_REDACTOR.add(secret)

    def _compiled(self) -> re.Pattern[str] | None:
        with self._lock:
            if self._pattern is None and self._secrets:
                forms = {form for secret in self._secrets for form in _encoded_forms(secret)}
                alternatives = sorted(forms, key=len, reverse=True)  # longest first: no partial leftovers
                self._pattern = re.compile("|".join(map(re.escape, alternatives)), re.IGNORECASE)
            return self._pattern

    def __call__(self, text: object) -> str:
        result = str(text)
        pattern = self._compiled()
        if pattern is not None:
            result = pattern.sub("****", result)
        result = _JWT_RE.sub("****", result)
        return _AUTH_RE.sub(lambda m: f"{m.group(1)} ****", result)


def _encoded_forms(secret: str) -> set[str]:
    """The secret as sent and as a URL would carry it."""
    return {secret, quote(secret, safe=""), quote(secret), quote_plus(secret)}


#: every secret any provider knows, for log records (a process-wide net under the per-call redaction)
LOG_REDACTOR = Redactor()


class RedactingLogFilter(logging.Filter):
    """Redacts known secrets from a record's message, arguments and traceback before any handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: leave it to logging's own error report
            return True
        record.msg, record.args = LOG_REDACTOR(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = LOG_REDACTOR(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = LOG_REDACTOR(record.exc_text)
        return True


def install_log_redaction() -> None:
    """Attach the filter to each logger of this package (a logger's filter sees only its own records)."""
    package = __name__.rpartition(".")[0]  # ...providers
    root = package.rpartition(".")[0]
    # every module of providers/ and core/ (a list by hand missed the ones added later)
    names: list[str] = []
    here = os.path.dirname(os.path.abspath(__file__))
    for prefix, folder in ((package, here), (f"{root}.core", os.path.join(os.path.dirname(here), "core"))):
        names += [f"{prefix}.{entry[:-3]}" for entry in os.listdir(folder)
                  if entry.endswith(".py") and entry != "__init__.py"]
    names += [f"{root}.cli", package]
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingLogFilter) for f in logger.filters):
            logger.addFilter(RedactingLogFilter())


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
install_log_redaction()


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


def _socket_of(response: requests.Response) -> socket.socket | None:
    """The socket under a streamed response (http.client's file object), or None."""
    fp = getattr(getattr(response.raw, "_fp", None), "fp", None)
    sock = getattr(getattr(fp, "raw", None), "_sock", None)
    return sock if isinstance(sock, socket.socket) else None


class BodyWatchdog:
    """Shuts the response's socket down at ``end`` or when ``cancel`` is set.

    A read blocked in ``recv`` then returns at once, so neither a stalled vendor
    nor a trickling one outlives its deadline, and Cancel stops a transfer mid-way.
    ``reason`` says why it fired ("deadline" / "cancel"), "" when it did not.
    """

    def __init__(self, response: requests.Response, end: float, cancel: threading.Event | None) -> None:
        self._sock = _socket_of(response)
        self._end = end
        self._cancel = cancel
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self.reason = ""

    def __enter__(self) -> BodyWatchdog:
        if self._sock is not None:
            self._thread = threading.Thread(target=self._watch, name="foley-body-watchdog", daemon=True)
            self._thread.start()
        return self

    def _watch(self) -> None:
        while True:
            left = self._end - time.monotonic()
            if self._cancel is not None and self._cancel.is_set():
                self.reason = "cancel"
                break
            if left <= 0:
                self.reason = "deadline"
                break
            step = left if self._cancel is None else min(left, 0.05)
            if self._done.wait(step):
                return
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)

    def check(self) -> None:
        """Between reads: the same decision without waiting for the thread."""
        if self._cancel is not None and self._cancel.is_set():
            self.reason = self.reason or "cancel"
        elif time.monotonic() >= self._end:
            self.reason = self.reason or "deadline"

    def __exit__(self, *_exc: object) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()


def stream_body(response: requests.Response, label: str, *, end: float, cap: int,
                cancel: threading.Event | None = None) -> Iterator[bytes]:
    """The body of a streamed response in pieces: at most ``cap`` bytes after decompression, before ``end``.

    The body is decompressed here (gzip/deflate, ``max_length`` bounded), so a
    small compressed bomb never expands past the cap. Raises AnswerTooLargeError,
    SlowAnswerError (deadline), CancelledError, or NetworkError (connection dropped).
    """
    encoding = response.headers.get("Content-Encoding", "").strip().lower()
    decoder = zlib.decompressobj(32 + zlib.MAX_WBITS) if encoding in ("gzip", "x-gzip", "deflate") else None
    reader = getattr(response.raw, "read1", None) or response.raw.read
    size = 0
    with BodyWatchdog(response, end, cancel) as watchdog:
        try:
            while True:
                watchdog.check()
                if watchdog.reason:
                    break
                data = reader(_READ_SIZE, decode_content=False)
                if not data:
                    if decoder is not None:
                        yield decoder.flush()
                    return
                if decoder is not None:
                    data = decoder.decompress(data, cap + 1 - size)
                size += len(data)
                if size > cap:
                    response.close()
                    raise AnswerTooLargeError(
                        f"{label} sent an answer larger than {cap / (1024 * 1024):.0f} MB; it was not read. "
                        "Try again later; if it keeps happening, report it to the vendor."
                    )
                yield data
        except (requests.RequestException, OSError, ValueError, zlib.error, HTTPError) as exc:
            response.close()
            watchdog.check()
            if not watchdog.reason:
                raise NetworkError(
                    f"The connection to {label} dropped while its answer was read ({type(exc).__name__}). "
                    "Check the internet connection and try again."
                ) from None
    response.close()
    if watchdog.reason == "cancel":
        raise CancelledError(f"Cancelled while receiving from {label}.")
    raise SlowAnswerError(
        f"{label} did not send its whole answer in time (a stalled or very slow connection). "
        "It is asked again later."
    )


def read_answer(response: requests.Response, label: str, *, end: float, cap: int = MAX_ANSWER_BYTES,
                cancel: threading.Event | None = None) -> bytes:
    """The whole bounded body (``stream_body``), also stored as the response's ``content`` for ``.json()``."""
    body = b"".join(stream_body(response, label, end=end, cap=cap, cancel=cancel))
    response._content = body
    response._content_consumed = True  # type: ignore[attr-defined]
    with contextlib.suppress(Exception):
        response.raw.release_conn()
    return body


class VendorHttp:
    """The HTTP client of one provider instance (thread-safe enough for one job at a time)."""

    def __init__(self, label: str, tuning: HttpTuning, secrets: Iterable[str] = ()) -> None:
        self.label = label
        self.tuning = tuning
        self.redact = Redactor(secrets)
        self.session = self._new_session()
        self.max_answer_bytes = MAX_ANSWER_BYTES
        self.download_deadline_s = DOWNLOAD_DEADLINE_S  # a whole result file, however it trickles

    @staticmethod
    def _new_session() -> requests.Session:
        session = requests.Session()
        session.trust_env = True  # proxies from the environment, as users expect
        adapter = requests.adapters.HTTPAdapter(max_retries=0)  # retries are decided here, not in urllib3
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        session.headers["User-Agent"] = "vse-foley (Blender VSE add-on)"
        session.headers["Accept-Encoding"] = "gzip, deflate"  # the encodings read_answer can bound
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
        per_read = read_timeout or self.tuning.read_timeout
        outer_end = time.monotonic() + deadline.remaining(float("inf"))  # the poll loop's time left
        attempts = self.tuning.retries + 1
        for attempt in range(attempts):
            if cancel is not None and cancel.is_set():
                raise CancelledError(f"Cancelled before contacting {self.label}.")
            paused = account_pause_left(self.label)
            if paused > 0:  # another job of this account was told to slow down
                self._sleep(paused, cancel)
            left = outer_end - time.monotonic()
            if left <= 0:
                raise SlowAnswerError(f"{self.label} did not answer in time; it is asked again later.")
            timeout = (min(self.tuning.connect_timeout, left), min(per_read, left))
            try:
                response = self._send(
                    self.session,
                    method,
                    url,
                    headers=dict(headers or {}),
                    params=params,
                    timeout=timeout,
                    json=json,
                    data=data,
                    files=files() if callable(files) else files,
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
            if not stream:  # the body within one read timeout in total, never more than the cap
                end = min(outer_end, time.monotonic() + per_read)
                read_answer(response, self.label, end=end, cap=self.max_answer_bytes, cancel=cancel)
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
                self._sleep(min(delay, max(0.0, outer_end - time.monotonic())), cancel)
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(
        self, session: requests.Session, method: str, url: str, *, headers: dict[str, str],
        params: Mapping[str, Any] | None = None, **options: Any,
    ) -> requests.Response:
        """Send, following redirects by hand: every hop must keep the https-or-loopback rule."""
        for _hop in range(MAX_REDIRECTS + 1):
            response = session.request(
                method, url, headers=headers, params=params, stream=True, allow_redirects=False, **options
            )
            if not response.is_redirect or method not in ("GET", "HEAD"):
                return response
            target = urljoin(response.url or url, response.headers.get("Location", ""))
            response.close()
            if not allowed_address(target):
                raise RefusedRedirectError(
                    f"{self.label} redirected to an address that is not https ({safe_url(target)}), so it "
                    "was not followed. Try again later; if it keeps happening, report it to the vendor."
                )
            if urlsplit(target).netloc != urlsplit(url).netloc:  # credentials stay with their host
                headers = {k: v for k, v in headers.items() if k.lower() not in _CREDENTIAL_HEADERS}
            url, params = target, None
        raise RefusedRedirectError(
            f"{self.label} redirected more than {MAX_REDIRECTS} times, so the address was not followed. "
            "Try again later; if it keeps happening, report it to the vendor."
        )

    def submit(
        self,
        url: str,
        *,
        headers: Mapping[str, str],
        json: Any,
        refused_response: ResponseCheck | None = None,
        cancel: threading.Event | None = None,
    ) -> requests.Response:
        """Send a paid request. Re-sent only when it certainly did not create a task.

        ``refused_response`` says which answers prove the vendor refused it (default HTTP 429);
        those are retried with backoff. Raises SubmitUncertainError when the request may have
        reached the vendor but no usable answer came back. ``cancel`` (the job's Cancel or the
        engine's shutdown) ends a wait between re-sends at once with CancelledError: every
        attempt before it was refused, so nothing was created.
        """
        is_refused = refused_response or (lambda r: r.status_code in SUBMIT_REFUSED_STATUSES)
        attempts = self.tuning.submit_retries + 1
        timeout = (self.tuning.connect_timeout, self.tuning.read_timeout)
        for attempt in range(attempts):
            # A fresh connection: a stale pooled one could drop after the bytes left.
            with self._new_session() as session:
                try:
                    response = session.post(
                        url, headers=dict(headers), json=json, timeout=timeout, stream=True,
                        allow_redirects=False,
                    )
                    # read the body now, bounded: a cut, endless or trickling body is also uncertain
                    read_answer(response, self.label, end=time.monotonic() + self.tuning.read_timeout,
                                cap=self.max_answer_bytes)
                except NetworkError as exc:
                    log.warning("%s submit to %s: unusable answer (%s)", self.label, safe_url(url),
                                type(exc).__name__)
                    raise SubmitUncertainError(
                        f"{self.label} did not send a usable answer to the request that starts the task, so "
                        f"it is not known whether a paid task was created. Check your {self.label} dashboard "
                        "before generating again, to avoid paying twice."
                    ) from None
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
                            self._sleep(self._delay(attempt, None), cancel)
                            continue
                    if _never_sent(exc):
                        raise NetworkError(
                            f"Could not reach {self.label} to start the task ({what}); nothing was sent or "
                            "charged. Check the internet connection and try again."
                        ) from None
                    log.warning("%s submit to %s got no answer (%s)", self.label, safe_url(url), what)
                    happened = f"{self.label} did not answer the request that starts the task ({what})"
                    raise SubmitUncertainError(
                        f"{happened}, so it is not known whether a paid task was created. Check your "
                        f"{self.label} dashboard before generating again, to avoid paying twice.",
                        what=happened,
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
                self._sleep(delay, cancel)
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover


def json_body(response: requests.Response) -> Any:
    """The response JSON, or None when the body is not JSON."""
    try:
        return response.json()
    except ValueError:
        return None


def answer_lost(status: int) -> bool:
    """True when a submit's HTTP status says nothing about the task: a server error after the request
    arrived (500, 502 from a gateway, 503, 504 timeout, any other 5xx) may come after the task was
    made. A bare 503 too (issue 9, the unkind reading): only a vendor's own documented refusal code
    (Kling 5001, WaveSpeed 5003) proves nothing was created - the provider checks that first."""
    return status >= 500


def uncertain_answer(label: str, status: int) -> SubmitUncertainError:
    """A submit answered with a server error: the task may or may not exist."""
    happened = f"{label} answered the request that starts the task with a server error (HTTP {status})"
    return SubmitUncertainError(
        f"{happened}, so it is not known whether a paid task was created. Check your {label} dashboard "
        "before generating again, to avoid paying twice.",
        vendor_code=status,
        what=happened,
    )


def unavailable_refusal(label: str) -> ServiceUnavailableError:
    """A submit refused with the vendor's own "unavailable" code after the retries: nothing was created."""
    return ServiceUnavailableError(
        f"{label} is unavailable right now (HTTP 503) and refused to start the task; nothing was created "
        "or charged. Try again in a few minutes.",
        vendor_code=503,
    )


def task_gone(label: str, task_id: str) -> TaskGoneError:
    """A status request for a task the vendor accepted answered 404: say what is true."""
    return TaskGoneError(
        f"{label} no longer has task {task_id} (it answered 404 Not Found): it may have expired or been "
        "deleted on its side. Asking again costs nothing; generating again starts a new, paid task.",
        vendor_code=404,
    )
