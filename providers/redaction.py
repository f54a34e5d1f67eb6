"""Redaction: nothing logged, raised or shown contains a key, token, JWT or a URL's query string.

``Redactor`` replaces every known secret (and their URL/JSON-encoded forms) and anything
JWT-shaped; ``RedactingLogFilter`` applies the shared ``LOG_REDACTOR`` to every log record of
the product's modules (``install_log_redaction``); urllib3's request lines lose their query
strings (signed result and upload URLs). ``safe_url`` is a URL fit for a log or a sentence.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterable
from urllib.parse import quote, quote_plus, urlsplit, urlunsplit

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
