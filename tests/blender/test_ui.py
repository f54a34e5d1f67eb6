"""The sidebar, right-click menu and preferences, drawn in real Blender.

There is no UI under the bpy module, so draw functions get a recording
stand-in for ``UILayout``: it keeps every call (labels, props, operators with
the properties set on them, progress bars) with the enabled/alert state in
effect, and checks what Blender would check (icons exist, operators and their
properties exist, drawn properties exist on their data).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from types import ModuleType, SimpleNamespace
from typing import Any

import bpy
import pytest
from blender_harness import MODULE

from vse_foley.providers.catalog import INFOS, PROVIDER_IDS

JOB_STATES = ("queued", "rendering", "uploading", "submitted", "generating", "downloading", "ready",
              "inserted", "failed", "cancelled")
ONLINE_PATH = "Edit ▸ Preferences ▸ System ▸ Network ▸ Allow Online Access"
CREDENTIAL_ENV = ("WAVESPEED_API_KEY", "KLING_ACCESS_KEY", "KLING_SECRET_KEY", "VIDU_API_KEY",
                  "FLEXSTACK_ACCESS_TOKEN", "FLEXSTACK_USERNAME", "FLEXSTACK_PASSWORD")
_LABEL_RNA: Any = bpy.types.UILayout.bl_rna.functions["label"]  # type: ignore[attr-defined]
ICONS = frozenset(_LABEL_RNA.parameters["icon"].enum_items.keys())


# -- the recording layout -----------------------------------------------------------------

class OperatorProps:
    """What ``layout.operator()`` returns: remembers every property the panel sets."""

    values: dict[str, Any]

    def __init__(self) -> None:
        object.__setattr__(self, "values", {})

    def __setattr__(self, name: str, value: Any) -> None:
        self.values[name] = value


@dataclass
class Call:
    kind: str  # label, prop, operator, menu, progress, separator, context_pointer_set, layout
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    enabled: bool
    alert: bool
    operator_props: OperatorProps | None = None
    layout: Recorder | None = None

    @property
    def text(self) -> str:
        return str(self.kwargs.get("text") or "")

    @property
    def values(self) -> dict[str, Any]:
        """The properties set on an operator button."""
        return self.operator_props.values if self.operator_props is not None else {}


@dataclass
class Recorder:
    """A stand-in for UILayout: nested layouts record into their own list, in drawing order."""

    kind: str = "root"
    parent: Recorder | None = None
    calls: list[Call] = field(default_factory=list)
    enabled: bool = True
    alert: bool = False
    active: bool = True
    alignment: str = "EXPAND"
    scale_x: float = 1.0
    scale_y: float = 1.0
    use_property_split: bool = False
    use_property_decorate: bool = False
    operator_context: str = "INVOKE_DEFAULT"
    emboss: str = "NORMAL"

    # state in effect for a call: a disabled row disables everything inside it
    def _effective(self) -> tuple[bool, bool]:
        enabled, alert = True, False
        node: Recorder | None = self
        while node is not None:
            enabled = enabled and node.enabled
            alert = alert or node.alert
            node = node.parent
        return enabled, alert

    def _record(self, kind: str, args: tuple[Any, ...], kwargs: dict[str, Any], **extra: Any) -> Call:
        enabled, alert = self._effective()
        call = Call(kind, args, kwargs, enabled, alert, **extra)
        self.calls.append(call)
        return call

    def _child(self, kind: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Recorder:
        child = Recorder(kind=kind, parent=self)
        self._record("layout", args, kwargs, layout=child)
        return child

    def row(self, *args: Any, **kwargs: Any) -> Recorder:
        return self._child("row", args, kwargs)

    def column(self, *args: Any, **kwargs: Any) -> Recorder:
        return self._child("column", args, kwargs)

    def box(self, *args: Any, **kwargs: Any) -> Recorder:
        return self._child("box", args, kwargs)

    def split(self, *args: Any, **kwargs: Any) -> Recorder:
        return self._child("split", args, kwargs)

    def grid_flow(self, *args: Any, **kwargs: Any) -> Recorder:
        return self._child("grid_flow", args, kwargs)

    def column_flow(self, *args: Any, **kwargs: Any) -> Recorder:
        return self._child("column_flow", args, kwargs)

    def label(self, *args: Any, **kwargs: Any) -> None:
        self._record("label", args, kwargs)

    def prop(self, data: Any, name: str, **kwargs: Any) -> None:
        self._record("prop", (data, name), kwargs)

    def operator(self, idname: str, **kwargs: Any) -> OperatorProps:
        props = OperatorProps()
        self._record("operator", (idname,), kwargs, operator_props=props)
        return props

    def menu(self, menu: str, **kwargs: Any) -> None:
        self._record("menu", (menu,), kwargs)

    def progress(self, **kwargs: Any) -> None:
        self._record("progress", (), kwargs)

    def separator(self, *args: Any, **kwargs: Any) -> None:
        self._record("separator", args, kwargs)

    def separator_spacer(self) -> None:
        self._record("separator", (), {})

    def context_pointer_set(self, name: str, data: Any) -> None:
        self._record("context_pointer_set", (name, data), {})

    # -- reading back ---------------------------------------------------------------------

    def walk(self) -> Iterator[Call]:
        for call in self.calls:
            yield call
            if call.layout is not None:
                yield from call.layout.walk()

    def of_kind(self, kind: str) -> list[Call]:
        return [call for call in self.walk() if call.kind == kind]

    def label_texts(self) -> list[str]:
        return [call.text for call in self.of_kind("label")]

    def all_text(self) -> str:
        """Every label, prop and button text joined: wrapped sentences read whole again."""
        parts = [call.text for call in self.walk() if call.kind in ("label", "prop", "operator", "progress")]
        return " ".join(part for part in parts if part)

    def operators(self, idname: str | None = None) -> list[Call]:
        return [call for call in self.of_kind("operator") if idname is None or call.args[0] == idname]

    def props(self, name: str | None = None) -> list[Call]:
        return [call for call in self.of_kind("prop") if name is None or call.args[1] == name]


def operator_rna(idname: str) -> Any:
    """The operator's RNA type, or None when it is not registered."""
    namespace, name = idname.split(".")
    # hasattr(bpy.ops.foley, name) is always True: ask bpy.types whether the class is registered
    if namespace == "foley" and not hasattr(bpy.types, f"FOLEY_OT_{name}"):
        return None
    try:
        return getattr(getattr(bpy.ops, namespace), name).get_rna_type()
    except (AttributeError, KeyError):
        return None


def assert_valid(recorder: Recorder) -> None:
    """What real Blender would refuse: unknown icons, props and operator properties."""
    for call in recorder.walk():
        icon = call.kwargs.get("icon")
        if icon is not None:
            assert icon in ICONS, f"unknown icon {icon}"
        if call.kind == "prop":
            data, name = call.args
            if hasattr(data, "bl_rna"):
                assert name in data.bl_rna.properties, f"{type(data).__name__} has no property {name}"
        if call.kind == "operator":
            rna = operator_rna(call.args[0])
            if rna is None:
                continue  # registration is checked by test_every_drawn_operator_is_registered
            assert call.operator_props is not None
            for name in call.values:
                assert name in rna.properties, f"{call.args[0]} has no property {name}"


# -- fixtures and helpers -----------------------------------------------------------------

@pytest.fixture()
def ui(extension: ModuleType) -> SimpleNamespace:
    """The installed extension's UI modules (the copy Blender runs, not the checkout)."""
    names = ("panels", "panels.fields", "panels.sidebar", "panels.sidebar_draw", "panels.menus",
             "panels.jobs_list",
             "panels.preferences_ui", "panels.readiness", "blender.runtime", "blender.selection",
             "core.jobs", "core.timeline", "providers.base", "properties")
    modules = {name.replace(".", "_"): importlib.import_module(f"{MODULE}.{name}") for name in names}
    return SimpleNamespace(**modules)


@pytest.fixture()
def offline() -> Iterator[None]:
    system = bpy.context.preferences.system
    before = system.use_online_access
    system.use_online_access = False
    yield
    system.use_online_access = before


@pytest.fixture()
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Neither the environment nor the preferences hold any key."""
    for name in CREDENTIAL_ENV:
        monkeypatch.delenv(name, raising=False)
    prefs = bpy.context.preferences.addons[MODULE].preferences
    before = {name: getattr(prefs, name) for name in ("wavespeed_api_key", "kling_access_key",
                                                      "kling_secret_key", "vidu_api_key",
                                                      "flexstack_access_token", "flexstack_username",
                                                      "flexstack_password")}
    for name in before:
        setattr(prefs, name, "")
    yield prefs
    for name, value in before.items():
        setattr(prefs, name, value)


def make_context(**overrides: Any) -> SimpleNamespace:
    """What panels read from ``context``; the sidebar of a 320 px region with nothing selected."""
    context = bpy.context
    values: dict[str, Any] = {
        "scene": context.scene,
        "sequencer_scene": context.scene,
        "preferences": context.preferences,
        "window_manager": context.window_manager,
        "region": SimpleNamespace(width=320),
        "selected_strips": [],
        "active_strip": None,
    }
    values.update(overrides)
    return SimpleNamespace(**values)


def draw_panel(panel_class: type, context: Any) -> Recorder:
    recorder = Recorder()
    panel_class.draw(SimpleNamespace(layout=recorder), context)  # type: ignore[attr-defined]
    assert_valid(recorder)
    return recorder


def generate_button(recorder: Recorder) -> Call:
    buttons = [call for call in recorder.operators("foley.generate") if not call.values]
    assert len(buttons) == 1, buttons
    return buttons[0]


def chosen(ui: SimpleNamespace, start: int, end: int, fps: int = 24) -> Any:
    frames = ui.core_timeline.FrameRange(start, end)
    return ui.blender_selection.ChosenRange(frames, "selection", ("Shot",), Fraction(fps))


def make_job(ui: SimpleNamespace, state: str, provider_id: str = "kling.video-to-audio",
             **fields: Any) -> Any:
    request = ui.providers_base.GenerationRequest(provider_id=provider_id, duration=4.0,
                                                  prompt="footsteps on gravel")
    job = ui.core_jobs.Job.create(request, ui.core_timeline.FrameRange(1, 96), Fraction(24), now=1000.0,
                                  label="Kling")
    job.state = ui.core_jobs.JobState(state)
    job.updated_at = 1042.0
    for name, value in fields.items():
        setattr(job, name, value)
    return job


class FakeFoleyStrip(dict[str, Any]):
    """An active sound strip made by the extension (ID properties behave like a dict)."""

    type = "SOUND"

    def __init__(self, scene: Any, group_id: str = "") -> None:
        super().__init__()
        self.name = "Kling: footsteps"
        self.id_data = scene
        self["vse_foley"] = {"provider": "kling.video-to-audio", "prompt": "footsteps", "seed": 7,
                             "frame_start": 1, "frame_end": 96, "vendor_task_id": "task-1",
                             "group_id": group_id, "take_index": 0}


# -- provider fields ----------------------------------------------------------------------

@pytest.mark.parametrize("provider_id", PROVIDER_IDS)
def test_every_provider_field_is_drawn_with_its_limit(ui: SimpleNamespace, provider_id: str) -> None:
    settings = bpy.context.scene.foley
    settings.provider = provider_id
    recorder = Recorder()
    ui.panels_fields.draw_provider_fields(recorder, settings, provider_id, chosen(ui, 1, 120))
    assert_valid(recorder)
    drawn = {call.args[1]: call for call in recorder.props()}
    labels = recorder.label_texts()
    info = INFOS[provider_id]
    for spec in info.fields:
        assert spec.name in drawn, f"{provider_id}: {spec.name} not drawn"
        if spec.kind.value == "text" and spec.max_length:
            assert f"{spec.max_length} of {spec.max_length} characters left" in labels
        if spec.kind.value in ("int", "float") and spec.minimum is not None and spec.maximum is not None:
            low = 0 if spec.name == "seed" else spec.minimum
            number = (lambda v: str(int(v))) if spec.kind.value == "int" else (lambda v: f"{v:g}")
            assert f"{number(low)}–{number(spec.maximum)}" in drawn[spec.name].text
    assert ("random_seed" in drawn) == (info.field("seed") is not None)
    if "random_seed" in drawn:
        assert drawn["random_seed"].kwargs.get("toggle") is True
        assert drawn["seed"].enabled is False  # the seed is -1: Random is on
    assert ("duration" in drawn) == (info.field("duration") is not None)
    assert "Frames 1–120 (5.00 s)" in labels


def test_seed_is_editable_when_random_is_off(ui: SimpleNamespace) -> None:
    settings = bpy.context.scene.foley
    settings.random_seed = False
    recorder = Recorder()
    ui.panels_fields.draw_provider_fields(recorder, settings, "wavespeed.think-sound", None)
    assert recorder.props("seed")[0].enabled is True
    assert settings.seed == 1


def test_text_over_its_limit_is_counted_and_reported(ui: SimpleNamespace) -> None:
    settings = bpy.context.scene.foley
    settings.prompt = "x" * 230
    info = ui.panels_fields.provider_info("kling.video-to-audio")
    recorder = Recorder()
    ui.panels_fields.draw_provider_fields(recorder, settings, info.id, chosen(ui, 1, 120))
    counter = next(call for call in recorder.of_kind("label") if "over the 200 limit" in call.text)
    assert counter.text == "30 characters over the 200 limit" and counter.alert
    assert recorder.props("prompt")[0].alert
    problems = ui.panels_fields.range_problems(info, chosen(ui, 1, 120), settings)
    assert any("Shorten it by 30" in problem for problem in problems)


def test_short_range_is_a_problem_and_long_range_is_chunked(ui: SimpleNamespace) -> None:
    fields = ui.panels_fields
    info = fields.provider_info("kling.video-to-audio")
    short = fields.range_problems(info, chosen(ui, 1, 48))  # 2 s at 24 fps; Kling needs 3
    assert len(short) == 1 and "needs at least 3 s" in short[0]

    long_range = chosen(ui, 1, 45 * 24)
    assert fields.range_problems(info, long_range) == []
    notes = fields.range_notes(info, long_range)
    assert any("3 overlapping chunks" in note for note in notes), notes

    recorder = Recorder()
    fields.draw_range(recorder, info, chosen(ui, 1, 48))
    error = next(call for call in recorder.of_kind("label") if call.kwargs.get("icon") == "ERROR")
    assert error.alert


def test_number_outside_the_providers_range_is_flagged(ui: SimpleNamespace) -> None:
    settings = bpy.context.scene.foley
    settings.duration = 20.0  # the property allows 600 s; Vidu allows 10
    info = ui.panels_fields.provider_info("vidu.text2audio")
    recorder = Recorder()
    ui.panels_fields.draw_provider_fields(recorder, settings, info.id, chosen(ui, 1, 120))
    assert recorder.props("duration")[0].alert
    assert "Vidu text to audio allows 2–10 s" in recorder.label_texts()
    assert any("Duration is 20 s" in p for p in ui.panels_fields.range_problems(info, None, settings))


def test_timeline_provider_needs_events_in_the_range(ui: SimpleNamespace) -> None:
    scene = bpy.context.scene
    info = ui.panels_fields.provider_info("vidu.timing2audio")
    rng = chosen(ui, 1, 120)
    assert any("no sound events" in p for p in ui.panels_fields.range_problems(info, rng, scene.foley))
    scene.timeline_markers.new("door slam", frame=10)
    assert not any("no sound events" in p for p in ui.panels_fields.range_problems(info, rng, scene.foley))
    notes = ui.panels_fields.range_notes(info, rng, scene.foley)
    assert "1 sound event from text strips and markers." in notes


# -- jobs ---------------------------------------------------------------------------------

@pytest.mark.parametrize("state", JOB_STATES)
def test_every_job_state_is_drawn(ui: SimpleNamespace, state: str) -> None:
    extra: dict[str, Any] = {}
    if state in ("submitted", "generating", "downloading", "ready", "inserted", "failed"):
        extra["vendor_task"] = {"task_id": "kling-task-42", "data": {}}
    if state in ("ready", "inserted"):
        extra["files"] = {"audio": "/tmp/foley/kling_footsteps.wav"}
    if state == "generating":
        extra["progress"] = 0.5
    if state == "failed":
        extra["error"] = "Kling refused the clip: it is shorter than 3 s. Choose a longer range and retry."
    job = make_job(ui, state, **extra)
    recorder = Recorder()
    ui.panels_jobs_list.draw_job(recorder, job, now=1030.0, width=40)
    assert_valid(recorder)

    text = recorder.all_text()
    assert "Kling video-to-audio: footsteps on gravel" in recorder.label_texts()
    assert ui.panels_jobs_list.STATE_TEXT[job.state] in text
    ids = {call.args[0] for call in recorder.operators()}
    assert all(call.values == {"job_id": job.id} for call in recorder.operators())

    active = state not in ("ready", "inserted", "failed", "cancelled")
    assert bool(recorder.of_kind("progress")) == active
    if active:
        bar = recorder.of_kind("progress")[0]
        assert bar.kwargs["type"] == "BAR" and 0.0 <= bar.kwargs["factor"] <= 1.0
        assert "30 s" in text  # elapsed while running
    assert ("foley.cancel" in ids) == (state not in ("inserted", "failed", "cancelled"))
    assert ("foley.retry" in ids) == (state == "failed")
    assert ("foley.insert" in ids) == (state in ("ready", "inserted"))
    assert ("foley.reveal" in ids) == (state in ("ready", "inserted"))
    assert ("foley.copy_task_id" in ids) == ("vendor_task" in extra)
    if state == "generating":
        assert recorder.of_kind("progress")[0].kwargs["text"] == "Generating 50%"
    if state == "failed":
        assert extra["error"] in text
        sentence = [call for call in recorder.of_kind("label") if call.text.startswith("Kling refused")]
        assert sentence and sentence[0].alert
    if state == "inserted":
        assert "Insert Again" in text
        assert "42 s" in text  # frozen at its last change


def test_a_long_job_shows_each_chunk_and_retries_a_failed_one_alone(ui: SimpleNamespace) -> None:
    parent = make_job(ui, "generating")
    chunks = [make_job(ui, "generating", parent_id=parent.id, chunk_index=0, progress=0.2),
              make_job(ui, "failed", parent_id=parent.id, chunk_index=1, error="Timed out."),
              make_job(ui, "ready", parent_id=parent.id, chunk_index=2)]
    parent.chunk_ids = [chunk.id for chunk in chunks]
    recorder = Recorder()
    ui.panels_jobs_list.draw_job(recorder, parent, chunks, now=1010.0)
    assert_valid(recorder)
    labels = recorder.label_texts()
    assert [label for label in labels if label.startswith("Chunk ")] == [
        "Chunk 1/3: 1–96", "Chunk 2/3: 1–96", "Chunk 3/3: 1–96"]
    retries = recorder.operators("foley.retry")
    assert [call.values["job_id"] for call in retries] == [chunks[1].id]
    assert len(recorder.of_kind("progress")) == 2  # the parent and the running chunk


def test_a_failed_insertion_shows_its_sentence_and_waits_for_the_user(ui: SimpleNamespace) -> None:
    sentence = "No free channel: free one or choose a channel (no channel above 1 is free)."
    job = make_job(ui, "ready", files={"audio": "/tmp/foley/kling_footsteps.wav"}, insert_error=sentence)
    recorder = Recorder()
    ui.panels_jobs_list.draw_job(recorder, job, now=1030.0, width=200)
    assert_valid(recorder)
    alerted = [call for call in recorder.of_kind("label") if call.text.startswith("No free channel")]
    assert alerted and alerted[0].alert
    buttons = {call.args[0]: call.kwargs.get("text") for call in recorder.operators()}
    assert buttons == {"foley.insert": "Retry Insert", "foley.reveal": "Reveal File",
                       "foley.dismiss": "Dismiss"}
    assert all(operator_rna(idname) is not None for idname in buttons)


def test_jobs_panel_without_an_engine_shows_nothing_and_creates_none(ui: SimpleNamespace,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = ui.blender_runtime
    runtime.shutdown()  # as after a restart: jobs stay in the ledger, no engine yet
    monkeypatch.setattr(runtime, "history", lambda limit=20: [])  # a first-time user
    jobs = draw_panel(ui.panels_sidebar.FOLEY_PT_jobs, make_context())
    history = draw_panel(ui.panels_sidebar.FOLEY_PT_history, make_context())
    assert jobs.label_texts() == ["No jobs yet."]
    assert history.label_texts() == ["No results yet."]
    assert not runtime.has_engine()


def test_jobs_and_history_panels_read_the_engine(ui: SimpleNamespace,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    running = make_job(ui, "generating", progress=0.25)
    failed = make_job(ui, "failed", error="No credits left.")
    inserted = make_job(ui, "inserted", files={"audio": "/tmp/a.wav"}, strip_name="Kling: footsteps")
    engine = SimpleNamespace(jobs=lambda: [running, failed, inserted])
    monkeypatch.setattr(ui.blender_runtime, "has_engine", lambda: True)
    monkeypatch.setattr(ui.blender_runtime, "engine", lambda: engine)
    monkeypatch.setattr(ui.blender_runtime, "history", lambda limit=20: [inserted, failed])

    jobs = draw_panel(ui.panels_sidebar.FOLEY_PT_jobs, make_context())
    shown = {call.values["job_id"] for call in jobs.operators()}
    assert shown == {running.id, failed.id}  # inserted results move to the history
    history = draw_panel(ui.panels_sidebar.FOLEY_PT_history, make_context())
    again = history.operators("foley.insert")
    assert [call.values["job_id"] for call in again] == [inserted.id]
    assert again[0].text == "Insert Again"
    assert history.operators("foley.clear_history")


# -- the Generate panel -------------------------------------------------------------------

def test_offline_shows_the_menu_path_and_disables_generate(ui: SimpleNamespace, offline: None) -> None:
    recorder = draw_panel(ui.panels_sidebar.FOLEY_PT_generate, make_context())
    assert ONLINE_PATH in recorder.all_text()
    assert generate_button(recorder).enabled is False
    prefs_button = recorder.operators("screen.userpref_show")[0]
    assert prefs_button.values == {"section": "SYSTEM"}


@pytest.mark.parametrize(("provider_id", "names"), [
    ("wavespeed.think-sound", ("WAVESPEED_API_KEY", "WaveSpeed API key")),
    ("kling.video-to-audio", ("KLING_ACCESS_KEY", "KLING_SECRET_KEY")),
    ("vidu.text2audio", ("VIDU_API_KEY",)),
    ("flexstack.audiogen", ("FLEXSTACK_ACCESS_TOKEN", "FLEXSTACK_USERNAME")),
])
def test_a_missing_key_says_which_and_disables_generate(ui: SimpleNamespace, online: None,
                                                        no_credentials: Any, provider_id: str,
                                                        names: tuple[str, ...]) -> None:
    bpy.context.scene.foley.provider = provider_id
    bpy.context.scene.foley.prompt = "rain on a tin roof"
    recorder = draw_panel(ui.panels_sidebar.FOLEY_PT_generate, make_context())
    text = recorder.all_text()
    for name in names:
        assert name in text
    assert ONLINE_PATH not in text
    assert generate_button(recorder).enabled is False
    setup = recorder.operators("preferences.addon_show")[0]
    assert setup.values == {"module": MODULE}


def test_with_a_key_online_generate_is_enabled_and_the_key_never_shown(
        ui: SimpleNamespace, online: None, no_credentials: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAVESPEED_API_KEY", "ws-secret-value-123")
    scene = bpy.context.scene
    scene.foley.provider = "wavespeed.think-sound"
    scene.frame_start, scene.frame_end = 1, 96
    recorder = draw_panel(ui.panels_sidebar.FOLEY_PT_generate, make_context())
    button = generate_button(recorder)
    assert button.enabled is True and button.text == "Generate"
    text = recorder.all_text()
    assert "ws-secret-value-123" not in text
    assert "Estimated cost:" in text
    assert "Frames 1–96" in text and "From the scene range" in text
    assert recorder.of_kind("menu")[0].args == ("FOLEY_MT_generate_with",)


def test_the_range_comes_from_the_selected_strips(ui: SimpleNamespace, online: None) -> None:
    compat = importlib.import_module(f"{MODULE}.compat")
    scene = bpy.context.scene
    strip = compat.new_effect_strip(scene, "Shot", "COLOR", 2, 25, 73)
    recorder = draw_panel(ui.panels_sidebar.FOLEY_PT_generate, make_context(selected_strips=[strip]))
    text = recorder.all_text()
    assert "Frames 25–72 (2.00 s)" in text and "From 1 selected strip" in text


def test_takes_change_the_button_and_cost(ui: SimpleNamespace, online: None,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAVESPEED_API_KEY", "k")
    settings = bpy.context.scene.foley
    settings.provider, settings.variations = "wavespeed.think-sound", 3
    bpy.context.scene.frame_start, bpy.context.scene.frame_end = 1, 96  # one chunk: 3 calls
    recorder = draw_panel(ui.panels_sidebar.FOLEY_PT_generate, make_context())
    assert generate_button(recorder).text == "Generate 3 Takes"
    assert "3 paid calls" in recorder.all_text()


def test_generate_with_menu_lists_every_provider(ui: SimpleNamespace, no_credentials: Any,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAVESPEED_API_KEY", "k")
    recorder = Recorder()
    ui.panels_sidebar_draw.draw_generate_with_menu(recorder, make_context())
    assert_valid(recorder)
    entries = {call.values["providers"]: call for call in recorder.operators("foley.generate")}
    for provider_id in PROVIDER_IDS:
        assert entries[provider_id].enabled == (INFOS[provider_id].vendor == "wavespeed")
    compare = [call for pid, call in entries.items() if "," in pid]
    assert len(compare) == 1 and compare[0].enabled
    assert set(compare[0].values["providers"].split(",")) == {  # "compare" is for the video providers
        pid for pid, info in INFOS.items() if info.vendor == "wavespeed" and info.needs_video}


# -- the active strip and the right-click menu --------------------------------------------

def test_context_menu_offers_generate_for_selection(ui: SimpleNamespace) -> None:
    menu = bpy.types.SEQUENCER_MT_context_menu
    assert ui.panels_menus.draw_context_menu in getattr(menu.draw, "_draw_funcs", [])
    recorder = Recorder()
    ui.panels_menus.draw_context_menu(SimpleNamespace(layout=recorder), make_context())
    assert_valid(recorder)
    entries = recorder.operators()
    assert [(c.args[0], c.text, c.values) for c in entries] == [
        ("foley.generate", "Generate Sound for Selection…", {"show_dialog": True})]


def test_context_menu_on_a_foley_take_offers_regenerate_and_takes(ui: SimpleNamespace) -> None:
    strip = FakeFoleyStrip(bpy.context.scene, group_id="g1")
    recorder = Recorder()
    ui.panels_menus.draw_context_menu(SimpleNamespace(layout=recorder), make_context(active_strip=strip))
    assert_valid(recorder)
    ids = [call.args[0] for call in recorder.operators()]
    assert ids == ["foley.generate", "foley.regenerate", "foley.regenerate", "foley.cycle_take",
                   "foley.keep_take"]
    seeds = [call.values["new_seed"] for call in recorder.operators("foley.regenerate")]
    assert seeds == [True, False]


def test_strip_panel_shows_what_made_the_sound(ui: SimpleNamespace) -> None:
    sidebar = ui.panels_sidebar
    assert not sidebar.FOLEY_PT_strip.poll(make_context())
    context = make_context(active_strip=FakeFoleyStrip(bpy.context.scene, group_id="g1"))
    assert sidebar.FOLEY_PT_strip.poll(context)
    recorder = draw_panel(sidebar.FOLEY_PT_strip, context)
    text = recorder.all_text()
    assert "Kling video-to-audio" in text and "footsteps" in text and "Seed: 7" in text
    assert {call.args[0] for call in recorder.operators()} == {"foley.regenerate", "foley.cycle_take",
                                                                "foley.keep_take"}


# -- preferences ----------------------------------------------------------------------------

def test_preferences_show_keys_env_fallback_and_tests(ui: SimpleNamespace, no_credentials: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIDU_API_KEY", "vidu-secret-xyz")
    prefs = no_credentials
    prefs.wavespeed_api_key = "ws-pref-secret"
    rna_keymap_ui = importlib.import_module("rna_keymap_ui")
    # Blender's keymap drawing reads the real region width, which headless Blender lacks.
    monkeypatch.setattr(rna_keymap_ui, "_indented_layout", lambda layout, level: layout.column())
    recorder = Recorder()
    ui.panels_preferences_ui.draw_preferences(prefs, bpy.context, recorder)
    assert_valid(recorder)
    text = recorder.all_text()
    assert "never in .blend files" in text
    assert "ws-pref-secret" not in text and "vidu-secret-xyz" not in text
    assert "Empty: uses $VIDU_API_KEY (set in this environment)" in text
    assert "Empty: uses $KLING_ACCESS_KEY (not set in this environment)" in text
    assert "Uses this field ($WAVESPEED_API_KEY is not set and ignored)" in text
    tests = {call.values["vendor"] for call in recorder.operators("foley.test_connection")}
    # issue 14 (ElevenLabs, fal.ai, the S3 upload host) and issue 16 (ComfyUI) are testable too
    assert tests == {"wavespeed", "kling", "vidu", "flexstack", "elevenlabs", "fal", "s3", "comfyui"}
    drawn = {call.args[1] for call in recorder.props()}
    assert {"kling_region", "vidu_region", "upload_host", "clip_short_side", "clip_colour", "concurrency",
            "output_folder", "confirm_cost_above", "s3_endpoint", "s3_bucket",
            "s3_secret_access_key"} <= drawn
    assert prefs.bl_rna.properties["s3_secret_access_key"].subtype == "PASSWORD"
    assert prefs.bl_rna.properties["s3_access_key_id"].subtype == "PASSWORD"
    assert "Empty: uses $AWS_SECRET_ACCESS_KEY" in text
    if bpy.context.window_manager.keyconfigs.addon is not None:
        assert recorder.of_kind("context_pointer_set")
        assert any(call.args[1] == "type" for call in recorder.props())  # the editable key


def test_keys_are_never_saved_in_the_blend_file(no_credentials: Any, tmp_path: Any) -> None:
    prefs = no_credentials
    prefs.wavespeed_api_key = "ws-key-must-not-leak-4711"
    prefs.kling_secret_key = "kling-secret-must-not-leak-0815"
    path = tmp_path / "edit.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path), compress=False, copy=True)
    data = path.read_bytes()
    assert b"must-not-leak" not in data


# -- registration -------------------------------------------------------------------------

def test_panels_are_registered_in_the_foley_tab(ui: SimpleNamespace) -> None:
    for cls in ui.panels.classes:
        assert hasattr(bpy.types, cls.__name__), cls
        if issubclass(cls, bpy.types.Panel):
            where = (cls.bl_space_type, cls.bl_region_type, cls.bl_category)
            assert where == ("SEQUENCE_EDITOR", "UI", "Foley")


def test_every_drawn_operator_is_registered(ui: SimpleNamespace, online: None, no_credentials: Any,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The buttons the UI draws all lead somewhere (the operators are written separately)."""
    monkeypatch.setattr(importlib.import_module("rna_keymap_ui"), "_indented_layout",
                        lambda layout, level: layout.column())
    recorder = Recorder()
    context = make_context(active_strip=FakeFoleyStrip(bpy.context.scene, group_id="g1"))
    ui.panels_sidebar_draw.draw_generate_panel(recorder, context)
    ui.panels_sidebar_draw.draw_strip_panel(recorder, context)
    inserted = make_job(ui, "inserted", files={"audio": "/a"})
    ui.panels_sidebar_draw.draw_history_panel(recorder, context, [inserted])
    for state in JOB_STATES:
        ui.panels_jobs_list.draw_job(recorder, make_job(ui, state, vendor_task={"task_id": "t"},
                                                        files={"audio": "/a"}))
    ui.panels_preferences_ui.draw_preferences(no_credentials, bpy.context, recorder)
    missing = sorted({call.args[0] for call in recorder.operators() if operator_rna(call.args[0]) is None})
    assert missing == [], f"drawn but not registered: {missing}"
    assert os.environ.get("WAVESPEED_API_KEY") is None
