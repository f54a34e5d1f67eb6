"""A ComfyUI server as a provider: the models run on the editor's own GPU (issue 16).

Routes (ComfyUI ``server.py``; every route also answers under ``/api``; see
``docs/vendors/comfyui.md``):

- ``POST /upload/image`` (multipart ``image``; any file) puts the clip in the input folder,
- ``POST /prompt`` ``{"prompt": workflow, "client_id": ...}`` queues it → ``prompt_id``
  (HTTP 400 with ``error`` and ``node_errors`` when the workflow does not validate),
- ``GET /queue`` (running and pending items) and ``GET /history/{prompt_id}`` follow it,
- ``GET /view?filename=&subfolder=&type=`` fetches the saved audio file,
- ``POST /queue {"delete": [id]}`` drops a pending prompt, ``POST /interrupt`` stops the running one,
- ``GET /system_stats`` names the GPU for Test Connection.

Nothing is paid, but a prompt queued twice costs the user's GPU time: the
``client_id`` is our submit key, so an unanswered submit is looked up in the queue
and the history (``extra_data.client_id``) before anything is sent again.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlencode

import requests
from pydantic import Field

from .base import AudioFile, GenerationRequest, TaskState, TaskStatus, VendorTask
from .catalog import INFOS, SEED_MAX
from .comfyui_workflow import (
    WorkflowError,
    check_workflow,
    fill,
    find_by_client_id,
    load_template,
    load_workflow_file,
    queue_place,
    read_history,
    rejection_sentence,
    save_nodes,
)
from .download import download_audio
from .errors import (
    AuthError,
    DownloadError,
    FoleyError,
    InputError,
    NetworkError,
    SubmitUncertainError,
    TaskFailedError,
    TaskGoneError,
    VendorUnavailableError,
)
from .http import answer_lost, json_body, path_segment, safe_url
from .settings import FoleySettings, VendorSettings
from .vendor_client import VendorClient, VendorInput, build_input
from .vendor_spec import PREFS_PATH, VendorSpec
from .wording import ordinal

log = logging.getLogger(__name__)

_VIDEO_MIME = {".mp4": "video/mp4", ".mov": "video/quicktime"}


class ComfyUIInput(VendorInput):
    """What VSE Foley puts into a workflow's placeholders (the workflow's own nodes check the rest)."""

    prompt: str = ""
    negative_prompt: str = ""
    seed: int = Field(-1, ge=-1, le=SEED_MAX)  # -1: a random seed is chosen when the prompt is queued


class WorkflowInput(ComfyUIInput):
    duration: float = Field(ge=0.5, le=300.0)


class MMAudioOnComfyInput(ComfyUIInput):
    duration: float = Field(ge=1.0, le=30.0)


class HunyuanFoleyOnComfyInput(ComfyUIInput):
    duration: float = Field(ge=1.0, le=60.0)  # HunyuanFoleySampler's duration input: 1–60 s


class ComfyUIWorkflow(VendorClient):
    """Runs one API-format workflow on the user's ComfyUI server (the user's own file)."""

    info = INFOS["comfyui.workflow"]
    input_model: ClassVar[type[ComfyUIInput]] = WorkflowInput
    #: a template shipped in ``providers/comfyui_templates`` ("" = the workflow file in the preferences)
    template: ClassVar[str] = ""
    supports_recovery = True

    def __init__(self, settings: FoleySettings) -> None:
        super().__init__(settings)
        self.comfy: VendorSettings = settings.vendor("comfyui")

    # -- the workflow ------------------------------------------------------------------------------

    def workflow(self) -> tuple[dict[str, Any], str]:
        """The workflow to run and its name for sentences; InputError when it cannot be used."""
        try:
            if self.template:
                workflow, name = load_template(self.template), f"the {self.info.label} template"
            else:
                path = self.comfy.value("workflow")
                workflow, name = load_workflow_file(path), Path(path).name
            check_workflow(workflow, name)
        except WorkflowError as exc:
            raise InputError(str(exc)) from None
        return workflow, name

    def _headers(self) -> dict[str, str]:
        token = self.comfy.secret("token")
        return {"Authorization": f"Bearer {token.reveal()}"} if token else {}

    def _url(self, path: str) -> str:
        return f"{self.comfy.require_url()}{path}"

    # -- the four steps ----------------------------------------------------------------------------

    def validate(self, request: GenerationRequest) -> None:
        self.comfy.require_url()
        self.workflow()
        info = self.info
        self.inputs(request)
        clip = self.check_clip(request)
        self.check_clip_length(clip, info.min_seconds, info.max_seconds)

    def inputs(self, request: GenerationRequest) -> ComfyUIInput:
        values = {
            "prompt": request.prompt.strip(),
            "negative_prompt": request.negative_prompt.strip(),
            "seed": request.seed,
            "duration": round(request.duration, 6),
        }
        return build_input(self.input_model, self.info.label, values, {"duration": "the range length"})

    def preflight(self, cancel: threading.Event | None = None) -> None:
        """A free look at the server before the clip is rendered: a server that is down says so now."""
        self._system_stats(cancel)

    def upload_clip(self, request: GenerationRequest, cancel: threading.Event | None = None) -> str | None:
        self.validate(request)
        path = Path(request.video_path or "")
        handles: list[Any] = []

        def files() -> dict[str, tuple[str, Any, str]]:
            handle = path.open("rb")
            handles.append(handle)
            return {
                "image": (f"vse_foley_{path.name}", handle, _VIDEO_MIME.get(path.suffix.lower(), "video/mp4"))
            }

        try:
            response = self.http.request(
                "POST",
                self._url("/upload/image"),
                headers=self._headers(),
                files=files,
                # the top of the input folder: LoadVideo lists only the files there
                data={"type": "input", "overwrite": "false"},
                read_timeout=self.http.tuning.upload_read_timeout,
                cancel=cancel,
            )
        except NetworkError:
            raise self._down() from None
        finally:
            for handle in handles:
                handle.close()
        body = json_body(response)
        self._check_auth(response)
        name = body.get("name") if isinstance(body, Mapping) else None
        if response.status_code != 200 or not isinstance(name, str) or not name:
            raise VendorUnavailableError(
                f"The ComfyUI server did not take the clip (HTTP {response.status_code}). Check that the "
                "server's input folder is writable and that the clip is within its upload size limit "
                "(--max-upload-size)."
            )
        subfolder = str(body.get("subfolder") or "")
        return f"{subfolder}/{name}" if subfolder else name

    def submit(
        self, request: GenerationRequest, clip_url: str | None, cancel: threading.Event | None = None
    ) -> VendorTask:
        workflow, _name = self.workflow()
        checked = self.inputs(request)
        seed = checked.seed if checked.seed >= 0 else random.SystemRandom().randrange(0, 2**31)
        values = {**checked.model_dump(), "clip": clip_url or "", "seed": seed}
        filled = fill(workflow, values)
        client_id = (
            str(request.options.get("external_task_id") or "") or f"vse-foley-{random.getrandbits(64):x}"
        )
        try:
            response = self.http.submit(
                self._url("/prompt"),
                headers=self._headers(),
                json={"prompt": filled, "client_id": client_id},
                cancel=cancel,
            )
        except NetworkError:
            raise self._down() from None
        except SubmitUncertainError as exc:
            raise SubmitUncertainError(str(exc), external_task_id=client_id, what=exc.what) from None
        body = json_body(response)
        self._check_auth(response)
        if answer_lost(response.status_code) or (response.status_code == 200 and not _prompt_id(body)):
            raise SubmitUncertainError(
                f"The ComfyUI server did not confirm the prompt (HTTP {response.status_code}); VSE Foley "
                "looks for it in the server's queue before queuing it again.",
                external_task_id=client_id,
            )
        if response.status_code == 400:
            raise InputError(rejection_sentence(body, filled))
        if response.status_code != 200:
            raise VendorUnavailableError(
                f"The ComfyUI server refused the prompt (HTTP {response.status_code}); nothing ran. Check "
                "the server's console and try again."
            )
        prompt_id = _prompt_id(body)
        log.info("ComfyUI prompt %s queued (%s)", prompt_id, self.info.id)
        return VendorTask(
            prompt_id, {"client_id": client_id, "seed": seed, "save_nodes": list(save_nodes(filled))}
        )

    def recover_submit(self, request: GenerationRequest, external_task_id: str) -> VendorTask | None:
        queue_body = json_body(self.http.request("GET", self._url("/queue"), headers=self._headers()))
        history = json_body(
            self.http.request("GET", self._url("/history"), headers=self._headers(), params={"max_items": 64})
        )
        prompt_id = find_by_client_id(queue_body, history, external_task_id)
        if prompt_id is None:
            return None
        workflow, _name = self.workflow()
        return VendorTask(
            prompt_id, {"client_id": external_task_id, "save_nodes": list(save_nodes(workflow))}
        )

    def poll(self, task: VendorTask) -> TaskStatus:
        # the queue first, then the history: ComfyUI moves a finished prompt from one to the
        # other under one lock (PromptQueue.task_done), so "in neither" really means "gone"
        queue_response = self.http.request("GET", self._url("/queue"), headers=self._headers())
        self._check_auth(queue_response)
        place = queue_place(json_body(queue_response), task.task_id)
        if place == 0:
            return TaskStatus(TaskState.RUNNING, message="Running on the ComfyUI server.")
        if place is not None:
            return TaskStatus(TaskState.PENDING, message=f"{ordinal(place)} in the server's queue.")
        response = self.http.request(
            "GET", self._url(f"/history/{path_segment(task.task_id)}"), headers=self._headers()
        )
        self._check_auth(response)
        nodes = tuple(str(node) for node in task.data.get("save_nodes", ()) or ())
        result = read_history(json_body(response), task.task_id, nodes)
        if result is None:
            if response.status_code == 200:
                raise TaskGoneError(
                    f"The ComfyUI server no longer has prompt {task.task_id} (it may have restarted, or its "
                    "history was cleared). Generate again; it costs nothing on your own server.",
                    vendor_code=404,
                )
            raise VendorUnavailableError(
                f"The ComfyUI server answered HTTP {response.status_code} about the prompt; asked again soon."
            )
        if not result.succeeded:
            where = f"{result.node_type}: " if result.node_type else ""
            return TaskStatus(
                TaskState.FAILED,
                message=(
                    f"ComfyUI stopped with an error in {where}{self.http.redact(result.error)}. Fix it on "
                    "the "
                    "server (see its console) and generate again."
                ),
                vendor_code=result.node_type or None,
            )
        urls = tuple(
            self._url("/view?" + urlencode({"filename": name, "subfolder": subfolder, "type": kind}))
            for name, subfolder, kind in result.files
        )
        if not urls:
            return TaskStatus(
                TaskState.FAILED,
                message="The ComfyUI workflow finished but saved no audio file. End it in a Save Audio node.",
            )
        log.info("ComfyUI prompt %s finished: %s", task.task_id, ", ".join(safe_url(url) for url in urls))
        return TaskStatus(TaskState.SUCCEEDED, audio_urls=urls, progress=1.0)

    def download(
        self, status: TaskStatus, dest_stem: Path, cancel: threading.Event | None = None
    ) -> AudioFile:
        if not status.audio_urls:
            raise DownloadError("The ComfyUI workflow saved no audio file; end it in a Save Audio node.")
        return download_audio(
            self.http,
            status.audio_urls[0],
            Path(dest_stem),
            cancel=cancel,
            headers=self._headers(),
            address_allowed=lambda url: url.startswith(self.base_url),
        )

    def cancel_remote(self, task: VendorTask) -> bool:
        """Drop our prompt from the queue, or interrupt it when it is the one running (never another's)."""
        try:
            place = queue_place(
                json_body(self.http.request("GET", self._url("/queue"), headers=self._headers())),
                task.task_id,
            )
            if place is None:
                return False
            if place == 0:
                self.http.request("POST", self._url("/interrupt"), headers=self._headers(), json={})
            else:
                self.http.request(
                    "POST", self._url("/queue"), headers=self._headers(), json={"delete": [task.task_id]}
                )
            return True
        except FoleyError as exc:
            log.info("ComfyUI cancel of %s failed: %s", task.task_id, exc)
            return False

    def failure_error(self, status: TaskStatus) -> FoleyError:
        return TaskFailedError(status.message, vendor_code=status.vendor_code)

    # -- helpers -----------------------------------------------------------------------------------

    def _system_stats(self, cancel: threading.Event | None = None) -> Mapping[str, Any]:
        try:
            response = self.http.request(
                "GET", self._url("/system_stats"), headers=self._headers(), cancel=cancel
            )
        except NetworkError:
            raise self._down() from None
        self._check_auth(response)
        body = json_body(response)
        if response.status_code != 200 or not isinstance(body, Mapping):
            raise VendorUnavailableError(
                f"{safe_url(self.base_url)} answered HTTP {response.status_code} where ComfyUI's "
                "/system_stats should be. Check the ComfyUI server URL."
            )
        return body

    def _down(self) -> NetworkError:
        return NetworkError(
            f"The ComfyUI server at {safe_url(self.base_url)} is not answering. Start ComfyUI (with --listen "
            "when it runs on another machine), check the server URL in the preferences, and try again; "
            "nothing was rendered."
        )

    def _check_auth(self, response: requests.Response) -> None:
        if response.status_code in (401, 403):
            raise AuthError(
                "The ComfyUI server (or the proxy in front of it) refused access "
                f"(HTTP {response.status_code}). "
                f"Set its token in VSE_FOLEY_COMFYUI_TOKEN or {PREFS_PATH} ▸ ComfyUI token."
            )


def _prompt_id(body: Any) -> str:
    value = body.get("prompt_id") if isinstance(body, Mapping) else None
    return value if isinstance(value, str) and value else ""


class ComfyUIMMAudio(ComfyUIWorkflow):
    info = INFOS["comfyui.mmaudio"]
    template = "mmaudio"
    input_model = MMAudioOnComfyInput


class ComfyUIHunyuanFoley(ComfyUIWorkflow):
    info = INFOS["comfyui.hunyuan-foley"]
    template = "hunyuan_foley"
    input_model = HunyuanFoleyOnComfyInput


def probe_server(settings: FoleySettings, spec: VendorSpec) -> str:
    """Test Connection: the server's GPU and free memory from ``/system_stats``."""
    del spec  # one spec, one server
    provider = ComfyUIWorkflow(settings)
    try:
        stats = provider._system_stats()
    finally:
        provider.close()
    system: Mapping[str, Any] = stats["system"] if isinstance(stats.get("system"), Mapping) else {}
    version = str(system.get("comfyui_version") or "").strip()
    devices = [d for d in stats.get("devices") or () if isinstance(d, Mapping)]
    name = f"ComfyUI {version}".strip() if version and version != "unknown" else "ComfyUI"
    if not devices:
        return f"{name}: connected (the server reports no GPU)."
    gpu = devices[0]
    free, total = gpu.get("vram_free"), gpu.get("vram_total")
    memory = ""
    if isinstance(free, int | float) and isinstance(total, int | float) and total > 0:
        memory = f", {free / 2**30:.1f} of {total / 2**30:.1f} GB VRAM free"
    return f"{name}: connected — {str(gpu.get('name') or 'a GPU').strip()}{memory}."
