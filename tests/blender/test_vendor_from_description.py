"""Acceptance of issue 12 in a real Blender: a vendor described only in a test appears, after
the extension registers again, as PASSWORD preferences, a region choice and account limits, in
readiness, in Test Connection's vendor choice and the preferences page, and in the CLI."""

from __future__ import annotations

import contextlib
import importlib
import io
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import bpy
import pytest
from blender_harness import MODULE

from tests import fake_vendor
from tests.fake_vendor import GOOD_KEY, KEY_ENV, KEY_LABEL, KEY_PREF, PROVIDER_ID, URL_ENV, VENDOR_ID


def module(name: str) -> Any:
    return importlib.import_module(f"{MODULE}.{name}")


class Layout:
    """Records what a draw function asks of a layout (every call returns a child layout)."""

    def __init__(self, log: list[tuple[str, tuple[Any, ...], dict[str, Any], Any]]) -> None:
        object.__setattr__(self, "log", log)

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Layout:
            child = Layout(self.log)
            self.log.append((name, args, kwargs, child))
            return child
        return call

    def __setattr__(self, name: str, value: Any) -> None:
        self.__dict__[name] = value


def _register_again(extension: ModuleType) -> None:
    extension.unregister()
    extension.register()


@pytest.fixture
def acme(extension: ModuleType) -> Iterator[fake_vendor.FakeVendor]:
    vendor = fake_vendor.build(MODULE)
    vendor.register(MODULE)
    properties = module("preferences").addon_preferences().bl_rna.properties
    assert KEY_PREF not in properties  # Blender reads a class's properties when it is registered
    _register_again(extension)
    yield vendor
    module("providers").unregister_vendor(VENDOR_ID)
    _register_again(extension)
    prefs = module("preferences").addon_preferences()
    assert KEY_PREF not in prefs.bl_rna.properties  # gone again: the next tests see the four vendors


def test_its_preferences_exist_after_registering_again(acme: fake_vendor.FakeVendor) -> None:
    properties = module("preferences").addon_preferences().bl_rna.properties
    key = properties[KEY_PREF]
    assert (key.type, key.subtype, key.name) == ("STRING", "PASSWORD", KEY_LABEL)
    assert KEY_ENV in key.description
    assert [item.identifier for item in properties["acme_region"].enum_items] == ["eu", "us"]
    assert properties["acme_tasks_at_once"].default == 4
    assert properties["acme_submits_per_minute"].default == 12
    # every existing preference keeps its name
    assert {"wavespeed_api_key", "kling_region", "flexstack_username", "upload_host",
            "vidu_tasks_at_once", "flexstack_submits_per_minute"} <= set(properties.keys())
    assert properties["flexstack_username"].subtype != "PASSWORD"


def test_readiness_reads_its_key_from_the_preferences(acme: fake_vendor.FakeVendor,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    readiness = module("panels.readiness")
    prefs = module("preferences").addon_preferences()
    prefs.acme_api_key = ""
    problem = readiness.provider_problem(PROVIDER_ID, readiness.preference_values(bpy.context))
    assert KEY_ENV in problem and KEY_LABEL in problem
    prefs.acme_api_key = GOOD_KEY
    try:
        assert readiness.provider_problem(PROVIDER_ID, readiness.preference_values(bpy.context)) == ""
        assert PROVIDER_ID in readiness.ready_providers(bpy.context, [PROVIDER_ID])
    finally:
        prefs.acme_api_key = ""


def test_the_preferences_page_draws_its_box_with_test_connection(acme: fake_vendor.FakeVendor) -> None:
    ui = module("panels.preferences_ui")
    prefs = module("preferences").addon_preferences()
    spec = module("providers").vendor_spec(VENDOR_ID)
    log: list[tuple[str, tuple[Any, ...], dict[str, Any], Any]] = []
    ui.draw_vendor_box(Layout(log), prefs, spec, module("preferences").provider_prefs())
    props = {args[1] for name, args, _, _ in log if name == "prop"}
    assert {KEY_PREF, "acme_region"} <= props
    [test] = [child for name, args, _, child in log
              if name == "operator" and args[0] == "foley.test_connection"]
    assert test.vendor == VENDOR_ID
    labels = " ".join(str(kwargs.get("text", "")) for name, _, kwargs, _ in log if name == "label")
    assert "Acme Audio" in labels and f"${KEY_ENV}" in labels


def test_test_connection_accepts_it_and_probes_it(acme: fake_vendor.FakeVendor, online: None,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    prefs = module("preferences").addon_preferences()
    with fake_vendor.FakeVendorServer() as server:
        monkeypatch.setenv(URL_ENV, server.url)
        prefs.acme_api_key = GOOD_KEY
        try:
            assert bpy.ops.foley.test_connection(vendor=VENDOR_ID) == {"FINISHED"}
            assert server.asked.wait(timeout=30), "the probe never reached the vendor"
        finally:
            prefs.acme_api_key = ""
        assert server.paths == ["/v1/tasks/vse-foley-connection-test"]
    with pytest.raises(TypeError):
        bpy.ops.foley.test_connection(vendor="no-such-vendor")


def test_the_cli_lists_it(acme: fake_vendor.FakeVendor) -> None:
    cli = module("cli")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["providers"]) == cli.EXIT_OK
    assert any(line.startswith(PROVIDER_ID) and KEY_ENV in line for line in out.getvalue().splitlines())
    assert URL_ENV in cli.build_parser().format_help()
