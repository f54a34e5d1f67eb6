"""The ``vse_foley`` logger of the Blender layer: failures with their tracebacks, never a key.

Blender configures no Python logging, so warnings and errors reach the console through
``logging.lastResort`` (stderr), as ``print`` did, now with tracebacks. Secrets are
redacted by the providers' ``RedactingLogFilter`` (every key any provider was given).
That module loads requests, so it is looked up when a record is logged rather than
imported at registration: before a provider exists, no secret has been registered.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import logging

ROOT_PACKAGE = __package__.rpartition(".")[0] if __package__ else "vse_foley"


def _logger() -> logging.Logger:
    """The ``vse_foley`` logger with its redaction filter (``logging`` loads here, on first use)."""
    import logging

    class _Redaction(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            redaction = sys.modules.get(f"{ROOT_PACKAGE}.providers.redaction")
            if redaction is None:  # no provider has loaded: no key was given to anything yet
                return True
            return bool(redaction.RedactingLogFilter().filter(record))

    logger = logging.getLogger("vse_foley")
    if not any(type(f).__name__ == "_Redaction" for f in logger.filters):  # once, even if reloaded
        logger.addFilter(_Redaction())
    return logger


class _FirstUse:
    """Stands for the logger, made when something is first logged: registration does not load ``logging``."""

    _real: logging.Logger | None = None

    def __getattr__(self, name: str) -> Any:
        if self._real is None:
            self._real = _logger()
        return getattr(self._real, name)


log = cast("logging.Logger", _FirstUse())
