"""The ``vse_foley`` logger of the Blender layer: failures with their tracebacks, never a key.

Blender configures no Python logging, so warnings and errors reach the console through
``logging.lastResort`` (stderr), as ``print`` did, now with tracebacks. Secrets are
redacted by the providers' ``RedactingLogFilter`` (every key any provider was given).
That module loads requests, so it is looked up when a record is logged rather than
imported at registration: before a provider exists, no secret has been registered.
"""

from __future__ import annotations

import logging
import sys

ROOT_PACKAGE = __package__.rpartition(".")[0] if __package__ else "vse_foley"

log = logging.getLogger("vse_foley")


class _Redaction(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        redaction = sys.modules.get(f"{ROOT_PACKAGE}.providers.redaction")
        if redaction is None:  # no provider has loaded: no key was given to anything yet
            return True
        return bool(redaction.RedactingLogFilter().filter(record))


if not any(type(f).__name__ == "_Redaction" for f in log.filters):  # once, even if reloaded
    log.addFilter(_Redaction())
