"""ComfyUI providers against the ComfyUI emulator: upload, queue, history, view, cancel, node errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from providers_testkit import FAST, FAST_POLLS, make_mp4, request_for

from devtools.emulator.comfyui import ComfyUIEmulator
from vse_foley.providers import create_provider
from vse_foley.providers.base import TaskState, VendorTask
from vse_foley.providers.comfyui import ComfyUIWorkflow
from vse_foley.providers.connection_test import check_connection
from vse_foley.providers.errors import (
    AuthError,
    InputError,
    NetworkError,
    SubmitUncertainError,
    TaskFailedError,
    TaskGoneError,
)
from vse_foley.providers.media import audio_duration
from vse_foley.providers.one_shot import run_generation


@pytest.fixture
def comfy() -> Iterator[ComfyUIEmulator]:
    with ComfyUIEmulator(polls_to_finish=1) as server:
        yield server


def provider_for(
    comfy: ComfyUIEmulator, provider_id: str = "comfyui.mmaudio", **prefs: str
) -> ComfyUIWorkflow:
    provider = create_provider(provider_id, prefs, comfy.environ(), tuning=FAST)
    assert isinstance(provider, ComfyUIWorkflow)
    return provider


def clip(tmp_path: Path, seconds: float = 4.0) -> Path:
    return make_mp4(tmp_path / "shot.mp4", seconds)


@pytest.mark.parametrize("provider_id", ["comfyui.mmaudio", "comfyui.hunyuan-foley"])
def test_a_template_runs_end_to_end_and_the_result_is_a_flac_of_the_range(
    comfy: ComfyUIEmulator, tmp_path: Path, provider_id: str
) -> None:
    provider = provider_for(comfy, provider_id)
    request = request_for(provider_id, clip(tmp_path), duration=4.0, seed=7, negative_prompt="music")
    audio = run_generation(provider, request, tmp_path / "out", schedule=FAST_POLLS)
    assert audio.format == "flac"
    assert audio.duration == pytest.approx(4.0, abs=0.01)
    assert audio_duration(audio.path, "flac") == pytest.approx(4.0, abs=0.01)
    assert comfy.prompts_queued == 1
    # the filled workflow carried our values, typed, and the uploaded clip's name
    (queued,) = comfy.state.history.values()
    workflow = queued["prompt"][2]
    sampler = next(node for node in workflow.values() if node["class_type"].endswith("Sampler"))
    assert sampler["inputs"]["seed"] == 7
    assert sampler["inputs"]["duration"] == 4.0
    assert sampler["inputs"]["prompt"] == "footsteps on gravel"
    assert sampler["inputs"]["negative_prompt"] == "music"
    (loader,) = [node for node in workflow.values() if node["class_type"] == "LoadVideo"]
    assert loader["inputs"]["file"] in comfy.state.inputs
    assert comfy.state.inputs[loader["inputs"]["file"]] == (tmp_path / "shot.mp4").read_bytes()


def test_a_random_seed_is_chosen_and_kept_on_the_task(comfy: ComfyUIEmulator, tmp_path: Path) -> None:
    provider = provider_for(comfy)
    request = request_for("comfyui.mmaudio", clip(tmp_path), duration=4.0, seed=-1)
    url = provider.upload_clip(request)
    task = provider.submit(request, url)
    assert isinstance(task.data["seed"], int) and 0 <= task.data["seed"] < 2**31


def test_the_queue_place_is_said_while_another_prompt_runs(comfy: ComfyUIEmulator, tmp_path: Path) -> None:
    comfy.polls_to_finish = 5
    provider = provider_for(comfy)
    request = request_for("comfyui.mmaudio", clip(tmp_path), duration=4.0)
    url = provider.upload_clip(request)
    first, second, third = (provider.submit(request, url) for _ in range(3))
    status = provider.poll(third)
    assert status.state is TaskState.PENDING
    assert status.message == "2nd in the server's queue."
    assert provider.poll(first).state is TaskState.RUNNING
    assert provider.poll(second).message == "1st in the server's queue."


def test_a_missing_model_is_named_with_its_node(comfy: ComfyUIEmulator, tmp_path: Path) -> None:
    comfy.installed = [m for m in comfy.installed if not m.startswith("mmaudio_large")]
    provider = provider_for(comfy)
    request = request_for("comfyui.mmaudio", clip(tmp_path), duration=4.0)
    url = provider.upload_clip(request)
    with pytest.raises(InputError) as caught:
        provider.submit(request, url)
    assert (
        "MMAudioModelLoader: 'mmaudio_large_44k_v2_fp16.safetensors' is not installed on the server"
        in str(caught.value)
    )
    assert comfy.prompts_queued == 0


def test_a_node_pack_that_is_not_installed_is_named(comfy: ComfyUIEmulator, tmp_path: Path) -> None:
    workflow = json.loads(
        (Path(__file__).parents[3] / "providers/comfyui_templates/mmaudio.json").read_text()
    )
    workflow["3"]["class_type"] = "MMAudioModelLoaderV9"
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(workflow))
    provider = provider_for(comfy, "comfyui.workflow", comfyui_workflow=str(path))
    request = request_for("comfyui.workflow", clip(tmp_path), duration=4.0)
    url = provider.upload_clip(request)
    with pytest.raises(InputError, match="has no node called MMAudioModelLoaderV9"):
        provider.submit(request, url)


def test_an_execution_error_says_the_node_type_and_the_exception(
    comfy: ComfyUIEmulator, tmp_path: Path
) -> None:
    comfy.inject(
        "execution_error", node_type="MMAudioSampler", message="CUDA out of memory. Tried to allocate 2 GB"
    )
    provider = provider_for(comfy)
    request = request_for("comfyui.mmaudio", clip(tmp_path), duration=4.0)
    with pytest.raises(TaskFailedError) as caught:
        run_generation(provider, request, tmp_path / "out", schedule=FAST_POLLS)
    assert "MMAudioSampler: CUDA out of memory" in str(caught.value)


def test_a_lost_answer_is_found_in_the_queue_by_client_id_and_never_queued_twice(
    comfy: ComfyUIEmulator, tmp_path: Path
) -> None:
    comfy.inject("lose_prompt_answer")
    provider = provider_for(comfy)
    request = request_for(
        "comfyui.mmaudio", clip(tmp_path), duration=4.0, options={"external_task_id": "vsefoley-1"}
    )
    url = provider.upload_clip(request)
    with pytest.raises(SubmitUncertainError) as caught:
        provider.submit(request, url)
    assert caught.value.external_task_id == "vsefoley-1"
    found = provider.recover_submit(request, "vsefoley-1")
    assert found is not None
    assert comfy.prompt_ids == [found.task_id]  # queued once, found, never queued again
    assert provider.recover_submit(request, "vsefoley-other") is None


def test_a_restarted_server_that_forgot_the_prompt_says_so(comfy: ComfyUIEmulator, tmp_path: Path) -> None:
    comfy.polls_to_finish = 5
    provider = provider_for(comfy)
    request = request_for("comfyui.mmaudio", clip(tmp_path), duration=4.0)
    task = provider.submit(request, provider.upload_clip(request))
    comfy.restart()
    with pytest.raises(TaskGoneError, match="no longer has prompt"):
        status = provider.poll(task)
        raise AssertionError(f"polled {status}")


def test_cancel_removes_our_pending_prompt_and_interrupts_only_our_running_one(
    comfy: ComfyUIEmulator, tmp_path: Path
) -> None:
    comfy.polls_to_finish = 50
    provider = provider_for(comfy)
    request = request_for("comfyui.mmaudio", clip(tmp_path), duration=4.0)
    url = provider.upload_clip(request)
    running, pending = provider.submit(request, url), provider.submit(request, url)
    assert provider.poll(running).state is TaskState.RUNNING
    assert provider.cancel_remote(pending) is True
    assert [p.prompt_id for p in comfy.state.queue] == [running.task_id]
    assert comfy.interrupts == 0  # removing a pending prompt never interrupts the running one
    assert provider.cancel_remote(running) is True
    assert comfy.interrupts == 1
    assert provider.cancel_remote(VendorTask("not-ours")) is False
    assert comfy.interrupts == 1


def test_a_token_is_sent_as_bearer_and_a_wrong_one_is_a_sentence(tmp_path: Path) -> None:
    with ComfyUIEmulator(token="s3cret-token") as comfy:
        good = provider_for(comfy)
        assert "connected" in check_connection("comfyui", {}, comfy.environ())
        request = request_for("comfyui.mmaudio", clip(tmp_path), duration=4.0)
        run_generation(good, request, tmp_path / "out", schedule=FAST_POLLS)
        bad = create_provider(
            "comfyui.mmaudio", {}, {**comfy.environ(), "VSE_FOLEY_COMFYUI_TOKEN": "wrong"}, tuning=FAST
        )
        with pytest.raises(AuthError) as caught:
            bad.upload_clip(request)
        assert "wrong" not in str(caught.value) and "s3cret" not in str(caught.value)


def test_test_connection_names_the_gpu_and_free_memory(comfy: ComfyUIEmulator) -> None:
    sentence = check_connection("comfyui", {}, comfy.environ())
    assert (
        sentence
        == "ComfyUI 0.3.66: connected — cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync, "
        "20.0 of 24.0 GB VRAM free."
    )


def test_a_server_that_is_down_says_so_before_anything_is_rendered(tmp_path: Path) -> None:
    with ComfyUIEmulator() as comfy:
        environ = comfy.environ()
    provider = create_provider("comfyui.mmaudio", {}, environ, tuning=FAST)
    with pytest.raises(NetworkError, match="is not answering. Start ComfyUI"):
        provider.preflight()


def test_the_api_prefix_works_too(comfy: ComfyUIEmulator, tmp_path: Path) -> None:
    provider = create_provider(
        "comfyui.mmaudio", {}, {"VSE_FOLEY_COMFYUI_URL": comfy.url + "/api"}, tuning=FAST
    )
    request = request_for("comfyui.mmaudio", clip(tmp_path), duration=4.0)
    audio = run_generation(provider, request, tmp_path / "out", schedule=FAST_POLLS)
    assert audio.format == "flac"
    assert all(
        path.startswith(("/upload", "/prompt", "/queue", "/history", "/view")) for _m, path in comfy.requests
    )


def test_an_editor_workflow_file_is_refused_with_the_export_hint(
    comfy: ComfyUIEmulator, tmp_path: Path
) -> None:
    path = tmp_path / "ui.json"
    path.write_text(json.dumps({"nodes": [], "links": []}))
    provider = provider_for(comfy, "comfyui.workflow", comfyui_workflow=str(path))
    with pytest.raises(InputError, match=r"Export \(API\)"):
        provider.validate(request_for("comfyui.workflow", None, duration=4.0))
    missing = provider_for(comfy, "comfyui.workflow")
    with pytest.raises(InputError, match="No ComfyUI workflow file is chosen"):
        missing.validate(request_for("comfyui.workflow", None, duration=4.0))


def test_a_generation_on_your_own_server_costs_nothing_in_the_estimate() -> None:
    from vse_foley.core.cost import estimate_cost
    from vse_foley.providers import provider_info

    estimate = estimate_cost(
        [provider_info("comfyui.mmaudio"), provider_info("comfyui.workflow")], 12.0, variations=2
    )
    assert estimate.total == 0.0
    assert estimate.text == "free: 6 runs on your server"  # MMAudio is best at 8 s: 12 s is two chunks
    assert provider_info("comfyui.mmaudio").price.source == "on your server"


@pytest.mark.parametrize(
    ("url", "allow_lan", "usable"),
    [
        ("http://127.0.0.1:8188", "", True),
        ("http://192.168.1.20:8188", "", False),  # plain http off the machine needs the box ticked
        ("http://192.168.1.20:8188", "1", True),
        ("http://10.0.0.5:8188", "1", True),
        ("http://gpubox.local:8188", "1", True),
        ("http://203.0.113.7:8188", "1", False),  # a public host never gets plain http
        ("http://comfy.example.com", "1", False),  # a name could resolve anywhere
        ("https://comfy.example.com", "", True),
    ],
)
def test_plain_http_is_for_this_computer_and_only_when_ticked_for_the_local_network(
    url: str, allow_lan: str, usable: bool
) -> None:
    from vse_foley.providers.errors import ConfigError
    from vse_foley.providers.settings import resolve_settings

    settings = resolve_settings({"comfyui_url": url, "comfyui_allow_lan_http": allow_lan}, {})
    comfy = settings.vendor("comfyui")
    if usable:
        assert comfy.require_url() == url
    else:
        with pytest.raises(ConfigError, match="is not usable") as caught:
            comfy.require_url()
        assert "ComfyUI server URL" in str(caught.value)
    # a bad ComfyUI address troubles ComfyUI only, never the cloud vendors
    assert settings.vendor("wavespeed").base_url == "https://api.wavespeed.ai"


def test_the_server_url_is_asked_for_and_the_preference_wins_over_the_environment() -> None:
    from vse_foley.core.checks import credential_problem
    from vse_foley.providers.errors import ConfigError
    from vse_foley.providers.settings import resolve_settings

    unset = resolve_settings({}, {}).vendor("comfyui")
    with pytest.raises(ConfigError, match="No ComfyUI server URL is set. Set VSE_FOLEY_COMFYUI_URL"):
        unset.require_url()
    assert "ComfyUI server URL" in credential_problem("comfyui", {}, {})  # not offered until it is set
    env = {"VSE_FOLEY_COMFYUI_URL": "http://127.0.0.1:9000/"}
    assert resolve_settings({}, env).vendor("comfyui").base_url == "http://127.0.0.1:9000"
    assert resolve_settings({"comfyui_url": "http://localhost:7000"}, env).vendor("comfyui").base_url == (
        "http://localhost:7000"
    )
