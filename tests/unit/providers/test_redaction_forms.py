"""Issue 11, item 5: a key a vendor echoes back is redacted in every form, before any log, job or stderr."""

from __future__ import annotations

import logging
from urllib.parse import quote, quote_plus

import pytest
from providers_testkit import FAST

from devtools.emulator.hostile import HostileVendor
from vse_foley.providers import create_provider
from vse_foley.providers.base import TaskState, VendorTask
from vse_foley.providers.redaction import Redactor

KEY = "Sk-Live/AbC+dEf=12 9"  # a key with characters URLs escape


@pytest.mark.parametrize("form", [
    KEY, KEY.upper(), KEY.lower(), quote(KEY, safe=""), quote(KEY, safe="").lower(), quote(KEY),
    quote_plus(KEY), quote_plus(KEY).upper(),
])
def test_each_form_of_the_key_is_redacted(form: str):
    redact = Redactor([KEY])
    text = redact(f"error: unknown state {form!r} in the answer")
    assert "****" in text
    assert form not in text and form.lower() not in text.lower()


def test_longer_secrets_win_over_parts_of_them():
    redact = Redactor(["abcd", "abcdefgh"])
    assert redact("x abcdefgh y") == "x **** y"


def test_a_key_echoed_in_an_unknown_state_never_reaches_the_log(caplog: pytest.LogCaptureFixture):
    vidu_key = "vidu-Secret/Key+42"
    with HostileVendor(bomb_bytes=1024 * 1024) as bad:
        environ = {"VIDU_API_KEY": vidu_key, "VSE_FOLEY_VIDU_URL": bad.url("/vidu")}
        provider = create_provider("vidu.text2audio", {}, environ, tuning=FAST)
        try:
            with caplog.at_level(logging.DEBUG):
                status = provider.poll(VendorTask("t1"))
        finally:
            provider.close()
    assert status.state == TaskState.RUNNING  # an unknown state is treated as running...
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "unknown state" in logged and "****" in logged  # ...and said, without the key
    for form in (vidu_key, vidu_key.upper(), quote(vidu_key, safe="")):
        assert form.lower() not in logged.lower()


def test_log_records_are_redacted_with_their_tracebacks(caplog: pytest.LogCaptureFixture):
    from vse_foley.providers import kling

    Redactor(["kling-Secret-77"])  # any provider's secret joins the process-wide log redaction
    logger = logging.getLogger(kling.__name__)
    with caplog.at_level(logging.INFO):
        try:
            raise ValueError("the vendor said KLING-SECRET-77")
        except ValueError:
            logger.exception("poll failed for %s", "kling-secret-77")
    [record] = caplog.records
    assert "****" in record.getMessage() and "secret-77" not in record.getMessage().lower()
    assert record.exc_text is not None and "secret-77" not in record.exc_text.lower()
