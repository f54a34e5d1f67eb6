"""Every logger of core/ and providers/ redacts keys, the engine's new parts included (issue 12)."""

from __future__ import annotations

import logging
from pathlib import Path

import vse_foley
from vse_foley.providers.http import RedactingLogFilter, install_log_redaction

PACKAGE = Path(vse_foley.__file__).parent


def test_each_module_that_logs_has_the_redacting_filter():
    install_log_redaction()
    logging_modules = [
        f"vse_foley.{folder}.{path.stem}"
        for folder in ("core", "providers")
        for path in sorted((PACKAGE / folder).glob("*.py"))
        if "getLogger(__name__)" in path.read_text(encoding="utf-8")
    ]
    assert "vse_foley.core.job_steps" in logging_modules and "vse_foley.providers.recovery" in logging_modules
    unfiltered = [
        name for name in logging_modules
        if not any(isinstance(f, RedactingLogFilter) for f in logging.getLogger(name).filters)
    ]
    assert unfiltered == []
