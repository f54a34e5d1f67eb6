"""ComfyUI workflows and answers as plain data: templates, placeholders, node errors, history, queue.

Stdlib only (no requests, no bpy), so every rule here is tested in milliseconds.
What the server sends is documented in ``docs/vendors/comfyui.md`` (read from
ComfyUI's ``server.py`` and ``execution.py``).

A workflow is ComfyUI's *API format*: ``{node_id: {"class_type": ..., "inputs": {...}}}``.
VSE Foley fills it through placeholders, string values of the form
``{{vse_foley.<name>}}``: a value that is exactly a placeholder becomes the typed
value (the seed an int, the duration a float); a placeholder inside a longer
string is replaced as text.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

PLACEHOLDER = "{{{{vse_foley.{}}}}}"
PLACEHOLDER_NAMES = ("clip", "prompt", "negative_prompt", "seed", "duration")
#: ComfyUI core nodes that write an audio file into the output folder (comfy_extras/nodes_audio.py)
AUDIO_SAVE_NODES = frozenset({"SaveAudio", "SaveAudioMP3", "SaveAudioOpus"})
#: ComfyUI seeds are unsigned 64-bit; ours from the UI fit in 31 bits
COMFY_SEED_MAX = 0xFFFFFFFFFFFFFFFF


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


class WorkflowError(ValueError):
    """A workflow file VSE Foley cannot use; the message is the sentence to show."""


def placeholder(name: str) -> str:
    return PLACEHOLDER.format(name)


def load_template(name: str) -> dict[str, Any]:
    """A workflow shipped with the extension (``providers/comfyui_templates/<name>.json``)."""
    text = resources.files(__package__).joinpath("comfyui_templates", f"{name}.json").read_text("utf-8")
    return parse_workflow(text, f"the built-in {name} template")


def load_workflow_file(path: str) -> dict[str, Any]:
    """The user's own API-format workflow; WorkflowError with a sentence when it cannot be used."""
    if not path.strip():
        raise WorkflowError(
            "No ComfyUI workflow file is chosen. Choose an API-format workflow (.json) in the VSE Foley "
            "preferences ▸ ComfyUI ▸ Workflow file."
        )
    file = Path(path).expanduser()
    try:
        text = file.read_text("utf-8")
    except OSError as exc:
        raise WorkflowError(
            f"The ComfyUI workflow {file.name} cannot be read ({exc.strerror or exc}). Choose the file again "
            "in the VSE Foley preferences."
        ) from None
    return parse_workflow(text, file.name)


def parse_workflow(text: str, name: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError:
        raise WorkflowError(f"The ComfyUI workflow {name} is not valid JSON.") from None
    if isinstance(data, dict) and isinstance(data.get("nodes"), list):
        raise WorkflowError(
            f"{name} is a ComfyUI editor workflow, not the API format the server runs. In ComfyUI use "
            "Workflow ▸ Export (API) and choose that file."
        )
    if not isinstance(data, dict) or not data or not all(_is_node(node) for node in data.values()):
        raise WorkflowError(
            f"{name} is not a ComfyUI API-format workflow (each entry needs a class_type and inputs). "
            "In ComfyUI use Workflow ▸ Export (API)."
        )
    return data


def _is_node(node: object) -> bool:
    return (
        isinstance(node, dict)
        and isinstance(node.get("class_type"), str)
        and isinstance(node.get("inputs"), dict)
    )


def placeholders_used(workflow: Mapping[str, Any]) -> set[str]:
    used: set[str] = set()
    for node in workflow.values():
        for value in node["inputs"].values():
            if isinstance(value, str):
                used.update(name for name in PLACEHOLDER_NAMES if placeholder(name) in value)
    return used


def check_workflow(workflow: Mapping[str, Any], name: str) -> None:
    """What VSE Foley needs of any workflow: the clip goes in, an audio file comes out."""
    if "clip" not in placeholders_used(workflow):
        raise WorkflowError(
            f"The ComfyUI workflow {name} has no input for the clip. Put {placeholder('clip')} as the file "
            "of its video loader (e.g. LoadVideo's file), export it again (API) and choose it."
        )
    if not any(node["class_type"] in AUDIO_SAVE_NODES for node in workflow.values()):
        raise WorkflowError(
            f"The ComfyUI workflow {name} saves no audio file. End it in a Save Audio node (SaveAudio, "
            "SaveAudioMP3 or SaveAudioOpus), export it again (API) and choose it."
        )


def fill(workflow: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``workflow`` with every placeholder replaced by its value."""
    filled = copy.deepcopy(dict(workflow))
    for node in filled.values():
        inputs = node["inputs"]
        for key, original in list(inputs.items()):
            if not isinstance(original, str) or "{{vse_foley." not in original:
                continue
            value: Any = original
            for name, replacement in values.items():
                token = placeholder(name)
                if value == token:
                    value = replacement
                    break
                value = value.replace(token, str(replacement))
            inputs[key] = value
    return filled


def save_nodes(workflow: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(node_id for node_id, node in workflow.items() if node["class_type"] in AUDIO_SAVE_NODES)


# -- answers ---------------------------------------------------------------------------------------


def rejection_sentence(body: Any, workflow: Mapping[str, Any]) -> str:
    """HTTP 400 from ``POST /prompt``: which node, what ComfyUI said, what to do."""
    error = body.get("error") if isinstance(body, Mapping) else None
    node_errors = body.get("node_errors") if isinstance(body, Mapping) else None
    problems: list[str] = []
    if isinstance(node_errors, Mapping):
        for node_id, entry in node_errors.items():
            if not isinstance(entry, Mapping):
                continue
            class_type = str(entry.get("class_type") or _class_of(workflow, node_id))
            for item in entry.get("errors") or ():
                if isinstance(item, Mapping):
                    problems.append(_node_problem(class_type, item, workflow.get(str(node_id))))
    if problems:
        return (
            "ComfyUI refused the workflow: " + "; ".join(problems[:3]) + ". Fix it on the server (or in the "
            "workflow) and try again; nothing ran."
        )
    message = ""
    if isinstance(error, Mapping):
        message = str(error.get("message") or "")
        details = str(error.get("details") or "")
        message = f"{message} ({details})" if details and details not in message else message
    elif error:
        message = str(error)
    missing = _missing_node(message)
    if missing:
        return (
            f"The ComfyUI server has no node called {missing}. Install the node pack that provides it "
            "(see the README, ComfyUI), restart ComfyUI and try again; nothing ran."
        )
    return (
        f"ComfyUI refused the workflow ({message or 'no reason given'}). Fix it and try again; nothing ran."
    )


def _class_of(workflow: Mapping[str, Any], node_id: object) -> str:
    node = workflow.get(str(node_id))
    return str(node.get("class_type")) if isinstance(node, Mapping) else f"node {node_id}"


def _node_problem(class_type: str, item: Mapping[str, Any], node: Any) -> str:
    kind = str(item.get("type") or "")
    extra = _mapping(item.get("extra_info"))
    input_name = str(extra.get("input_name") or "")
    details = str(item.get("details") or item.get("message") or "invalid")
    if kind == "value_not_in_list":
        value = extra.get("received_value")
        if value is None and isinstance(node, Mapping) and input_name:
            value = _mapping(node.get("inputs")).get(input_name)
        if isinstance(value, str) and value.lower().endswith(
            (".safetensors", ".pth", ".pt", ".ckpt", ".bin")
        ):
            return f"{class_type}: '{value}' is not installed on the server ({input_name})"
        if input_name in ("file", "video", "image"):
            return f"{class_type}: the uploaded clip '{value}' is not in the server's input folder"
        return f"{class_type}: {input_name or 'a value'} '{value}' is not one of the server's choices"
    if kind == "required_input_missing":
        return f"{class_type}: the input {input_name or details} is missing"
    return f"{class_type}: {details}"


def _missing_node(message: str) -> str:
    # execution.validate_prompt: "Cannot execute because node X does not exist."
    marker = "because node "
    if marker in message and "does not exist" in message:
        return message.split(marker, 1)[1].split(" does not exist", 1)[0].strip()
    return ""


@dataclass(frozen=True)
class HistoryResult:
    """One finished prompt in ``GET /history/{id}``."""

    succeeded: bool
    files: tuple[tuple[str, str, str], ...]  # (filename, subfolder, type) of each saved audio file
    error: str = ""
    node_type: str = ""


_FAILURE_MESSAGES = ("execution_error", "execution_interrupted")


def read_history(
    body: Any, prompt_id: str, workflow_save_nodes: tuple[str, ...] = ()
) -> HistoryResult | None:
    """The prompt's result, or None while it is not in the history (pending, running or unknown)."""
    entry = body.get(prompt_id) if isinstance(body, Mapping) else None
    if not isinstance(entry, Mapping):
        return None
    status = _mapping(entry.get("status"))
    for message in _list(status.get("messages")):
        if isinstance(message, list) and len(message) == 2 and message[0] in _FAILURE_MESSAGES:
            data = _mapping(message[1])
            node_type = str(data.get("node_type") or "")
            if message[0] == "execution_interrupted":
                return HistoryResult(False, (), "the run was interrupted on the server", node_type)
            exception = str(data.get("exception_message") or "").strip() or "no message"
            return HistoryResult(False, (), exception.splitlines()[0][:300], node_type)
    if status and status.get("status_str") == "error":
        return HistoryResult(False, (), "ComfyUI reported an error without details")
    files: list[tuple[str, str, str]] = []
    outputs = _mapping(entry.get("outputs"))
    ordered = [node for node in workflow_save_nodes if node in outputs] + [
        node for node in outputs if node not in workflow_save_nodes
    ]
    for node_id in ordered:
        for item in _list(_mapping(outputs.get(node_id)).get("audio")):
            if isinstance(item, Mapping) and item.get("filename"):
                files.append(
                    (
                        str(item["filename"]),
                        str(item.get("subfolder") or ""),
                        str(item.get("type") or "output"),
                    )
                )
    if not status.get("completed", True) and not files:
        return None  # written but not completed: ask again
    return HistoryResult(True, tuple(files))


def queue_place(body: Any, prompt_id: str) -> int | None:
    """0 while running, n for the n-th pending prompt (in run order), None when not queued."""
    if not isinstance(body, Mapping):
        return None
    for item in body.get("queue_running") or ():
        if isinstance(item, list) and len(item) > 1 and item[1] == prompt_id:
            return 0
    pending = [item for item in body.get("queue_pending") or () if isinstance(item, list) and len(item) > 1]
    pending.sort(key=lambda item: item[0] if isinstance(item[0], int | float) else 0)
    for place, item in enumerate(pending, 1):
        if item[1] == prompt_id:
            return place
    return None


def find_by_client_id(queue_body: Any, history_body: Any, client_id: str) -> str | None:
    """The prompt id queued with our ``client_id`` (kept in each item's extra_data), if any."""
    items: list[Any] = []
    if isinstance(queue_body, Mapping):
        items += list(queue_body.get("queue_running") or ()) + list(queue_body.get("queue_pending") or ())
    if isinstance(history_body, Mapping):
        items += [entry.get("prompt") for entry in history_body.values() if isinstance(entry, Mapping)]
    for item in items:
        if (
            isinstance(item, list)
            and len(item) > 3
            and isinstance(item[3], Mapping)
            and item[3].get("client_id") == client_id
        ):
            return str(item[1])
    return None
