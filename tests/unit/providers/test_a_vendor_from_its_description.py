"""Acceptance of issue 12: a vendor described in a test alone (tests/fake_vendor.py) appears in
the settings, the preferences' names, readiness, Test Connection and the CLI, with no edit
anywhere else. (The real Blender preferences: tests/blender/test_vendor_from_description.py.)"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator

import pytest

from tests import fake_vendor
from tests.fake_vendor import GOOD_KEY, KEY_ENV, KEY_LABEL, KEY_PREF, PROVIDER_ID, URL_ENV, VENDOR_ID
from vse_foley import cli
from vse_foley.core import checks
from vse_foley.providers import PROVIDER_IDS, all_provider_infos, create_provider, unregister_vendor
from vse_foley.providers.catalog import ACCOUNT_LIMITS, IMPLEMENTATIONS, VENDOR_NEEDS
from vse_foley.providers.connection_test import PROBE_PROVIDER, check_connection, vendors_to_probe
from vse_foley.providers.errors import AuthError, ConfigError
from vse_foley.providers.settings import (
    account_limit_pref_names,
    account_limits,
    provider_pref_names,
    resolve_settings,
)
from vse_foley.providers.vendor_spec import PREFS_PATH, VENDOR_SPECS


@pytest.fixture
def acme() -> Iterator[fake_vendor.FakeVendor]:
    vendor = fake_vendor.build()
    vendor.register()
    yield vendor
    unregister_vendor(VENDOR_ID)


def test_without_registration_nothing_knows_the_vendor() -> None:
    assert VENDOR_ID not in VENDOR_SPECS and PROVIDER_ID not in PROVIDER_IDS
    assert KEY_PREF not in provider_pref_names()


def test_settings_come_from_the_description(acme: fake_vendor.FakeVendor) -> None:
    settings = resolve_settings({}, {KEY_ENV: "from-env"})
    vendor = settings.vendor(VENDOR_ID)
    assert vendor.require("api_key") == ("from-env",) and vendor.ready
    assert vendor.base_url == "https://eu.acme.example"  # the first region
    assert resolve_settings({"acme_region": "us"}, {}).vendor(VENDOR_ID).base_url == "https://us.acme.example"
    assert resolve_settings({}, {URL_ENV: "http://127.0.0.1:9"}).vendor(VENDOR_ID).base_url == "http://127.0.0.1:9"
    assert resolve_settings({KEY_PREF: "pref"}, {KEY_ENV: "env"}).vendor(VENDOR_ID).require() == ("pref",)
    assert "from-env" in settings.secrets() and "from-env" not in repr(settings)
    with pytest.raises(ConfigError, match="acme_region"):
        resolve_settings({"acme_region": "mars"}, {})


def test_preference_names_and_account_limits(acme: fake_vendor.FakeVendor) -> None:
    assert {KEY_PREF, "acme_region"} <= set(provider_pref_names())
    assert {"acme_tasks_at_once", "acme_submits_per_minute"} <= set(account_limit_pref_names())
    assert (ACCOUNT_LIMITS[VENDOR_ID].concurrency, ACCOUNT_LIMITS[VENDOR_ID].submits_per_minute) == (4, 12.0)
    assert account_limits({"acme_tasks_at_once": 9})[VENDOR_ID].concurrency == 9


def test_readiness_names_the_preference_and_the_environment_variable(acme: fake_vendor.FakeVendor) -> None:
    problem = checks.provider_problem(PROVIDER_ID, {}, {})
    assert problem == f"No {KEY_LABEL} is set. Set {KEY_ENV} or {PREFS_PATH} ▸ {KEY_LABEL}."
    assert checks.provider_problem(PROVIDER_ID, {KEY_PREF: "k"}, {}) == ""
    assert VENDOR_NEEDS[VENDOR_ID] == KEY_ENV
    blockers = checks.generate_blockers(online=True, scene_problem="", provider_id=PROVIDER_ID, prefs={},
                                        values={"prompt": "x" * 101}, range_seconds=5.0, environ={})
    assert [b.kind for b in blockers] == ["key", "input"]  # its FieldSpec's limit is checked too


def test_test_connection_probes_it(acme: fake_vendor.FakeVendor) -> None:
    assert VENDOR_ID in [spec.id for spec in vendors_to_probe()] and PROBE_PROVIDER[VENDOR_ID] == PROVIDER_ID
    with fake_vendor.FakeVendorServer() as server:
        good = {KEY_ENV: GOOD_KEY, URL_ENV: server.url}
        assert check_connection(VENDOR_ID, {}, good) == "Acme Audio: connected, and the key was accepted."
        assert server.paths == ["/v1/tasks/vse-foley-connection-test"]
        with pytest.raises(AuthError, match=KEY_ENV):
            check_connection(VENDOR_ID, {}, {**good, KEY_ENV: "wrong"})
        with pytest.raises(ConfigError, match=KEY_ENV):
            check_connection(VENDOR_ID, {}, {URL_ENV: server.url})
        assert len(server.paths) == 2  # the missing key sent nothing


def test_the_cli_lists_it_and_accepts_its_provider(acme: fake_vendor.FakeVendor) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["providers"]) == cli.EXIT_OK
    [line] = [line for line in out.getvalue().splitlines() if line.startswith(PROVIDER_ID)]
    assert KEY_ENV in line and "fields: prompt" in line
    help_text = cli.build_parser().format_help()
    assert f"Acme Audio: {KEY_ENV}" in help_text and URL_ENV in help_text
    argv = ["generate", "--provider", PROVIDER_ID, "--prompt", "p", "--out", "x"]
    args = cli.build_parser().parse_args(argv)
    assert args.provider == PROVIDER_ID


def test_the_factory_makes_its_provider(acme: fake_vendor.FakeVendor) -> None:
    provider = create_provider(PROVIDER_ID, {KEY_PREF: "k"}, {})
    assert isinstance(provider, acme.factory) and provider.vendor.require() == ("k",)
    assert [info.id for info in all_provider_infos()][-1] == PROVIDER_ID


def test_unregistering_removes_every_trace() -> None:
    vendor = fake_vendor.build()
    vendor.register()
    assert PROVIDER_ID in PROVIDER_IDS
    unregister_vendor(VENDOR_ID)
    assert VENDOR_ID not in VENDOR_SPECS and PROVIDER_ID not in PROVIDER_IDS
    assert PROVIDER_ID not in IMPLEMENTATIONS
    assert VENDOR_ID not in ACCOUNT_LIMITS and KEY_PREF not in provider_pref_names()
    assert VENDOR_ID not in resolve_settings({}, {}).vendors
