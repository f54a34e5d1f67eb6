"""Test connection: the key is checked with one harmless request per vendor."""

from __future__ import annotations

import pytest

from devtools.emulator import VendorEmulator
from vse_foley.providers.connection_test import PROBE_PROVIDER, check_connection
from vse_foley.providers.errors import AuthError, ConfigError

VENDORS = sorted(PROBE_PROVIDER)
SECRET_VARS = ("KEY", "PASSWORD", "TOKEN")


@pytest.fixture(scope="module")
def emulator():
    with VendorEmulator() as emu:
        yield emu


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_good_key_connects_without_generating(emulator: VendorEmulator, vendor: str) -> None:
    emulator.reset()
    assert "connected" in check_connection(vendor, {}, emulator.environ())
    assert emulator.submit_count(vendor) == 0
    assert emulator.requests, "the probe must reach the vendor"


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_wrong_key_is_a_sentence_naming_the_key(emulator: VendorEmulator, vendor: str) -> None:
    wrong = {name: ("wrong-" + value if any(part in name for part in SECRET_VARS) else value)
             for name, value in emulator.environ().items()}
    with pytest.raises(AuthError) as raised:
        check_connection(vendor, {}, wrong)
    message = str(raised.value)
    assert "Preferences" in message
    assert not any(value in message for name, value in wrong.items() if any(p in name for p in SECRET_VARS))


def test_a_missing_key_sends_nothing(emulator: VendorEmulator) -> None:
    emulator.reset()
    environ = {k: v for k, v in emulator.environ().items() if k != "VIDU_API_KEY"}
    with pytest.raises(ConfigError, match="VIDU_API_KEY"):
        check_connection("vidu", {}, environ)
    assert emulator.requests == []
