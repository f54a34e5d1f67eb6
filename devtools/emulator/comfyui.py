"""Loopback emulator of a ComfyUI server: the routes VSE Foley uses, with ComfyUI's own answers.

From ComfyUI's ``server.py`` and ``execution.py`` (see ``docs/vendors/comfyui.md``):
``POST /upload/image`` (multipart ``image``; a taken name becomes ``name (1).ext``),
``POST /prompt`` (validated against the installed nodes: HTTP 400 with ``error`` and
``node_errors`` as ``validate_prompt`` builds them), ``GET /queue``, ``GET /history``,
``GET /history/{id}``, ``GET /view`` (a real FLAC file from SaveAudio),
``POST /queue {"delete": [...]}``, ``POST /interrupt``, ``GET /system_stats``. Every
route answers under ``/api`` too.

The server runs one prompt at a time, in queue order. A prompt starts when nothing
runs and it is first in the queue; it finishes after ``polls_to_finish`` requests
to ``/queue`` or ``/history`` have seen it running (0: at once), so tests see
"running" and queue places without sleeping.

Unkind readings of what the routes leave open:
- ``lose_prompt_answer``: the prompt IS queued, then the connection closes unanswered.
- ``restart()``: the queue and history are in memory only; a restart forgets both.
- ``execution_error``: the next prompt fails in ``node_type`` with ``message``.
- ``token``: when set, every route answers 401 without ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .audio import synth_wav
from .flac import encode_flac

MMAUDIO_MODELS = [
    "mmaudio_large_44k_v2_fp16.safetensors",
    "mmaudio_vae_44k_fp16.safetensors",
    "mmaudio_synchformer_fp16.safetensors",
    "apple_DFN5B-CLIP-ViT-H-14-384_fp16.safetensors",
]
FOLEY_MODELS = ["hunyuanvideo_foley.pth", "vae_128d_48k.pth", "synchformer_state_dict.pth"]


#: class -> required inputs: a list is a combo (value must be one of it), a str an input type;
#: what the node packs' INPUT_TYPES declare (versions in tests/unit/providers/test_comfyui_templates.py)
def _nodes(installed: list[str], inputs: list[str]) -> dict[str, dict[str, Any]]:
    mm = [m for m in installed if m in MMAUDIO_MODELS]
    foley = [m for m in installed if m in FOLEY_MODELS]
    return {
        "LoadVideo": {"file": list(inputs)},
        "GetVideoComponents": {"video": "VIDEO"},
        "SaveAudio": {"audio": "AUDIO", "filename_prefix": "STRING"},
        "MMAudioModelLoader": {"mmaudio_model": mm, "base_precision": ["fp16", "fp32", "bf16"]},
        "MMAudioFeatureUtilsLoader": {"vae_model": mm, "synchformer_model": mm, "clip_model": mm},
        "MMAudioSampler": {
            "mmaudio_model": "MMAUDIO_MODEL",
            "feature_utils": "MMAUDIO_FEATUREUTILS",
            "duration": "FLOAT",
            "steps": "INT",
            "cfg": "FLOAT",
            "seed": "INT",
            "prompt": "STRING",
            "negative_prompt": "STRING",
            "mask_away_clip": "BOOLEAN",
            "force_offload": "BOOLEAN",
        },
        "HunyuanModelLoader": {
            "model_name": foley,
            "precision": ["auto", "bf16", "fp16", "fp32"],
            "quantization": ["none", "fp8_e4m3fn", "fp8_e5m2", "auto"],
        },
        "HunyuanDependenciesLoader": {
            "vae_name": [f for f in foley if "vae" in f],
            "synchformer_name": [f for f in foley if "synch" in f],
        },
        "HunyuanFoleySampler": {
            "hunyuan_model": "HUNYUAN_MODEL",
            "hunyuan_deps": "HUNYUAN_DEPS",
            "frame_rate": "FLOAT",
            "duration": "FLOAT",
            "prompt": "STRING",
            "negative_prompt": "STRING",
            "cfg_scale": "FLOAT",
            "steps": "INT",
            "sampler": ["euler", "heun-2", "midpoint-2", "kutta-4"],
            "batch_size": "INT",
            "seed": "INT",
            "force_offload": "BOOLEAN",
        },
    }


@dataclass
class Prompt:
    prompt_id: str
    number: int
    workflow: dict[str, Any]
    client_id: str
    state: str = "pending"  # pending | running | done
    seen_running: int = 0
    fail: tuple[str, str] | None = None  # (node_type, message)


@dataclass
class ComfyState:
    inputs: dict[str, bytes] = field(default_factory=dict)
    outputs: dict[tuple[str, str], bytes] = field(default_factory=dict)  # (subfolder, name) -> bytes
    queue: list[Prompt] = field(default_factory=list)
    history: dict[str, dict[str, Any]] = field(default_factory=dict)
    number: int = 0
    counter: int = 0


class ComfyUIEmulator:
    """``with ComfyUIEmulator() as comfy: comfy.url`` → a ComfyUI server on 127.0.0.1."""

    def __init__(
        self, *, polls_to_finish: int = 1, installed: list[str] | None = None, token: str = ""
    ) -> None:
        self.polls_to_finish = polls_to_finish
        self.installed = list(MMAUDIO_MODELS + FOLEY_MODELS if installed is None else installed)
        self.token = token
        self.state = ComfyState()
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str]] = []  # (method, path)
        self.prompts_queued = 0
        self.prompt_ids: list[str] = []  # every prompt queued, in order
        self.peak_queued = 0
        self.interrupts = 0
        self._faults: list[tuple[str, dict[str, Any]]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def environ(self) -> dict[str, str]:
        env = {"VSE_FOLEY_COMFYUI_URL": self.url}
        if self.token:
            env["VSE_FOLEY_COMFYUI_TOKEN"] = self.token
        return env

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> ComfyUIEmulator:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def inject(self, fault: str, **params: Any) -> None:
        with self.lock:
            self._faults.append((fault, params))

    def restart(self) -> None:
        """The server process restarts: queue and history (memory only) are gone; files stay."""
        with self.lock:
            self.state.queue.clear()
            self.state.history.clear()

    def _take(self, fault: str) -> dict[str, Any] | None:
        for index, (name, params) in enumerate(self._faults):
            if name == fault:
                del self._faults[index]
                return params
        return None

    # -- the queue -----------------------------------------------------------------------------------

    def _advance(self) -> None:
        """One observation of the queue: start the next prompt, finish the running one when due."""
        state = self.state
        running = next((p for p in state.queue if p.state == "running"), None)
        if running is None:
            pending = sorted((p for p in state.queue if p.state == "pending"), key=lambda p: p.number)
            if not pending:
                return
            running = pending[0]
            running.state = "running"
        if running.seen_running >= self.polls_to_finish:
            self._finish(running)
            self._advance()
        else:
            running.seen_running += 1

    def _finish(self, prompt: Prompt) -> None:
        state = self.state
        state.queue.remove(prompt)
        item = _queue_item(prompt)
        if prompt.fail:
            node_type, message = prompt.fail
            node_id = next((k for k, n in prompt.workflow.items() if n["class_type"] == node_type), "1")
            messages = [
                ["execution_start", {"prompt_id": prompt.prompt_id}],
                [
                    "execution_error",
                    {
                        "prompt_id": prompt.prompt_id,
                        "node_id": node_id,
                        "node_type": node_type,
                        "executed": [],
                        "exception_message": message,
                        "exception_type": "RuntimeError",
                        "traceback": ["Traceback..."],
                        "current_inputs": {},
                        "current_outputs": {},
                    },
                ],
            ]
            state.history[prompt.prompt_id] = {
                "prompt": item,
                "outputs": {},
                "status": {"status_str": "error", "completed": False, "messages": messages},
            }
            return
        outputs: dict[str, Any] = {}
        for node_id, node in prompt.workflow.items():
            if node["class_type"] != "SaveAudio":
                continue
            seconds, rate = self._sound_of(prompt.workflow, node)
            state.counter += 1
            prefix = str(node["inputs"].get("filename_prefix") or "ComfyUI")
            subfolder, _, stem = prefix.rpartition("/")
            name = f"{stem}_{state.counter:05}_.flac"
            pcm = synth_wav(seconds, sample_rate=rate)[44:]
            state.outputs[(subfolder, name)] = encode_flac(pcm, rate, 2)
            outputs[node_id] = {"audio": [{"filename": name, "subfolder": subfolder, "type": "output"}]}
        state.history[prompt.prompt_id] = {
            "prompt": item,
            "outputs": outputs,
            "status": {
                "status_str": "success",
                "completed": True,
                "messages": [
                    ["execution_start", {"prompt_id": prompt.prompt_id}],
                    ["execution_success", {"prompt_id": prompt.prompt_id}],
                ],
            },
        }

    def _sound_of(self, workflow: dict[str, Any], save: dict[str, Any]) -> tuple[float, int]:
        source = workflow.get(str(save["inputs"]["audio"][0]), {})
        seconds = source.get("inputs", {}).get("duration", 8.0)
        rate = 48000 if source.get("class_type") == "HunyuanFoleySampler" else 44100
        return float(seconds if isinstance(seconds, int | float) else 8.0), rate

    # -- validation, as execution.validate_prompt answers ---------------------------------------------

    def validate(self, workflow: Any) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        nodes = _nodes(self.installed, list(self.state.inputs))
        if not isinstance(workflow, dict):
            return {
                "type": "invalid_prompt",
                "message": "Invalid prompt",
                "details": "",
                "extra_info": {},
            }, {}
        for node_id, node in workflow.items():
            class_type = node.get("class_type") if isinstance(node, dict) else None
            if class_type not in nodes:
                return (
                    {
                        "type": "invalid_prompt",
                        "message": f"Cannot execute because node {class_type} does not exist.",
                        "details": f"Node ID '#{node_id}'",
                        "extra_info": {},
                    },
                    {},
                )
        if not any(node["class_type"] == "SaveAudio" for node in workflow.values()):
            return {
                "type": "prompt_no_outputs",
                "message": "Prompt has no outputs",
                "details": "",
                "extra_info": {},
            }, {}
        node_errors: dict[str, Any] = {}
        for node_id, node in workflow.items():
            errors = []
            for name, kind in nodes[node["class_type"]].items():
                value = node["inputs"].get(name)
                if value is None:
                    errors.append(
                        {
                            "type": "required_input_missing",
                            "message": "Required input is missing",
                            "details": name,
                            "extra_info": {"input_name": name},
                        }
                    )
                elif isinstance(value, list) and len(value) == 2 and str(value[0]) in workflow:
                    continue  # a link to another node's output
                elif isinstance(kind, list) and value not in kind:
                    errors.append(
                        {
                            "type": "value_not_in_list",
                            "message": "Value not in list",
                            "details": f"{name}: '{value}' not in {kind}",
                            "extra_info": {"input_name": name, "received_value": value},
                        }
                    )
                elif kind in ("INT", "FLOAT") and (
                    isinstance(value, bool) or not isinstance(value, int | float)
                ):
                    errors.append(
                        {
                            "type": "invalid_input_type",
                            "message": "Failed to convert an input value",
                            "details": f"{name}: {value!r}",
                            "extra_info": {"input_name": name},
                        }
                    )
            if errors:
                node_errors[node_id] = {
                    "errors": errors,
                    "dependent_outputs": [],
                    "class_type": node["class_type"],
                }
        if node_errors:
            return (
                {
                    "type": "prompt_outputs_failed_validation",
                    "message": "Prompt outputs failed validation",
                    "details": "",
                    "extra_info": {},
                },
                node_errors,
            )
        return None, {}

    # -- routes ----------------------------------------------------------------------------------------

    def handle(
        self, method: str, path: str, query: dict[str, list[str]], headers: Any, body: bytes
    ) -> tuple[int, str, bytes] | None:
        """(status, content type, body), or None to close the connection unanswered."""
        path = path.removeprefix("/api") or "/"
        with self.lock:
            self.requests.append((method, path))
            if self.token and headers.get("Authorization") != f"Bearer {self.token}":
                return 401, "text/plain", b"401: Unauthorized"
            return self._route(method, path, query, headers, body)

    def _route(  # noqa: PLR0911 - one exit per route
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: Any,
        body: bytes,
    ) -> tuple[int, str, bytes] | None:
        state = self.state
        if method == "GET" and path == "/system_stats":
            return _json(
                {
                    "system": {"os": "posix", "comfyui_version": "0.3.66", "python_version": "3.12"},
                    "devices": [
                        {
                            "name": "cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync",
                            "type": "cuda",
                            "index": 0,
                            "vram_total": 24 * 2**30,
                            "vram_free": 20 * 2**30,
                        }
                    ],
                }
            )
        if method == "POST" and path == "/upload/image":
            fields = _multipart(headers.get("Content-Type", ""), body)
            if "image" not in fields:
                return 400, "text/plain", b""
            filename, content = fields["image"]
            stem, dot, ext = filename.rpartition(".")
            name, number = filename, 1
            while name in state.inputs and state.inputs[name] != content:
                name, number = f"{stem} ({number}){dot}{ext}", number + 1
            state.inputs[name] = content
            return _json({"name": name, "subfolder": "", "type": "input"})
        if method == "POST" and path == "/prompt":
            data = json.loads(body or b"{}")
            if "prompt" not in data:
                return _json({"error": "no prompt", "node_errors": []}, 400)
            error, node_errors = self.validate(data["prompt"])
            if error:
                return _json({"error": error, "node_errors": node_errors}, 400)
            state.number += 1
            prompt = Prompt(str(uuid.uuid4()), state.number, data["prompt"], str(data.get("client_id", "")))
            fail = self._take("execution_error")
            if fail:
                prompt.fail = (
                    fail.get("node_type", "MMAudioSampler"),
                    fail.get("message", "CUDA out of memory"),
                )
            state.queue.append(prompt)
            self.prompts_queued += 1
            self.prompt_ids.append(prompt.prompt_id)
            self.peak_queued = max(self.peak_queued, len(state.queue))
            if self._take("lose_prompt_answer") is not None:
                return None
            return _json({"prompt_id": prompt.prompt_id, "number": prompt.number, "node_errors": {}})
        if method == "GET" and path == "/queue":
            self._advance()

            return _json(
                {
                    "queue_running": [_queue_item(p) for p in state.queue if p.state == "running"],
                    "queue_pending": [_queue_item(p) for p in state.queue if p.state == "pending"],
                }
            )
        if method == "POST" and path == "/queue":
            data = json.loads(body or b"{}")
            for prompt_id in data.get("delete", ()):
                state.queue[:] = [
                    p for p in state.queue if not (p.prompt_id == prompt_id and p.state == "pending")
                ]
            return 200, "text/plain", b""
        if method == "POST" and path == "/interrupt":
            self.interrupts += 1
            running = next((p for p in state.queue if p.state == "running"), None)
            if running is not None:
                state.queue.remove(running)
                item = _queue_item(running)
                state.history[running.prompt_id] = {
                    "prompt": item,
                    "outputs": {},
                    "status": {
                        "status_str": "error",
                        "completed": False,
                        "messages": [
                            ["execution_interrupted", {"prompt_id": running.prompt_id, "node_type": ""}]
                        ],
                    },
                }
            return 200, "text/plain", b""
        if method == "GET" and path == "/history":
            self._advance()
            return _json(dict(state.history))
        if method == "GET" and path.startswith("/history/"):
            self._advance()
            prompt_id = path.removeprefix("/history/")
            return _json({prompt_id: state.history[prompt_id]} if prompt_id in state.history else {})
        if method == "GET" and path == "/view":
            key = (query.get("subfolder", [""])[0], query.get("filename", [""])[0])
            if query.get("type", ["output"])[0] != "output" or key not in state.outputs:
                return 404, "text/plain", b""
            return 200, "audio/flac", state.outputs[key]
        return 404, "text/plain", b"404: Not Found"

    @property
    def running_prompts(self) -> int:
        return sum(1 for p in self.state.queue if p.state == "running")


def _queue_item(prompt: Prompt) -> list[Any]:
    """One entry of /queue and of a history entry's "prompt": [number, id, workflow, extra_data, outputs]."""
    return [prompt.number, prompt.prompt_id, prompt.workflow, {"client_id": prompt.client_id}, []]


def _json(data: Any, status: int = 200) -> tuple[int, str, bytes]:
    return status, "application/json", json.dumps(data).encode()


def _multipart(content_type: str, body: bytes) -> dict[str, tuple[str, bytes]]:
    """name -> (filename, bytes) of each multipart part (enough for requests' encoding)."""
    marker = "boundary="
    if marker not in content_type:
        return {}
    boundary = b"--" + content_type.split(marker, 1)[1].strip().strip('"').encode()
    parts: dict[str, tuple[str, bytes]] = {}
    for chunk in body.split(boundary)[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, data = chunk.partition(b"\r\n\r\n")
        disposition = head.decode("utf-8", "replace")
        name = _param(disposition, "name")
        if name:
            parts[name] = (_param(disposition, "filename"), data[:-2] if data.endswith(b"\r\n") else data)
    return parts


def _param(header: str, key: str) -> str:
    for raw in header.replace("\r\n", ";").split(";"):
        piece = raw.strip()
        if piece.startswith(f"{key}="):
            return piece.split("=", 1)[1].strip('"')
    return ""


def _handler_for(emulator: ComfyUIEmulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self, method: str) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            reply = emulator.handle(method, parts.path, parse_qs(parts.query), self.headers, body)
            if reply is None:  # the unkind reading: queued, then no answer
                self.close_connection = True
                self.connection.shutdown(2)
                return
            status, content_type, data = reply
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self._serve("GET")

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            self._serve("POST")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
