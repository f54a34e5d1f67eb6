"""The shared base of the vendor clients: settings, HTTP session, clip checks, limits as sentences.

Imported only by the vendor modules (it loads pydantic and requests).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from .base import AudioFile, GenerationRequest, Provider, TaskStatus
from .download import download_audio
from .errors import DownloadError, InputError
from .http import VendorHttp
from .media import ClipInfo, read_clip_info
from .settings import FoleySettings, VendorSettings

log = logging.getLogger(__name__)

ModelT = TypeVar("ModelT", bound=BaseModel)


class VendorInput(BaseModel):
    """Base of every vendor payload model: unknown fields are a bug, values are checked on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, str_strip_whitespace=True)


def _describe_error(error: Mapping[str, Any], labels: Mapping[str, str]) -> str:  # noqa: PLR0911 - one sentence per pydantic error type
    loc = [str(part) for part in error.get("loc", ())]
    field = labels.get(loc[0], loc[0].replace("_", " ")) if loc else "a value"
    if len(loc) > 1:
        field = f"{field} #{int(loc[1]) + 1}" if loc[1].isdigit() else field
        if len(loc) > 2:
            field += f" {labels.get(loc[2], loc[2])}"
    ctx = error.get("ctx") or {}
    kind = error.get("type", "")
    value = error.get("input")
    if kind == "string_too_long":
        return f"{field} is {len(str(value))} characters long; at most {ctx.get('max_length')} are allowed"
    if kind == "string_too_short":
        return f"{field} must not be empty"
    if kind in ("less_than_equal", "less_than"):
        return f"{field} must be at most {ctx.get('le', ctx.get('lt'))} (it is {value})"
    if kind in ("greater_than_equal", "greater_than"):
        bound = ctx.get("ge", ctx.get("gt"))
        word = "at least" if kind == "greater_than_equal" else "more than"
        return f"{field} must be {word} {bound} (it is {value})"
    if kind == "missing":
        return f"{field} is required"
    if kind == "literal_error":
        return f"{field} must be one of {ctx.get('expected')} (it is {value!r})"
    if kind == "value_error":
        return str(ctx.get("error", error.get("msg", "")))
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return f"{field} has the wrong type ({value!r})"
    return f"{field}: {error.get('msg', 'invalid')}"


def build_input(
    model: type[ModelT], label: str, values: Mapping[str, Any], labels: Mapping[str, str] | None = None
) -> ModelT:
    """Validate ``values`` into ``model`` or raise InputError naming the limit that was broken."""
    try:
        return model.model_validate(dict(values))
    except ValidationError as exc:
        problems = [_describe_error(error, labels or {}) for error in exc.errors()[:3]]
    # Raised outside the except block so it keeps no __context__: pydantic-core's ValidationError
    # does not take part in garbage collection, so a cycle through it (the validator's exception,
    # its frames, the caller's frames) would never be freed.
    sentence = "; ".join(problem[:1].upper() + problem[1:] for problem in problems)
    raise InputError(f"{label}: {sentence}. Change it and try again; nothing was sent.")


class VendorClient(Provider):
    """A provider talking to one vendor API over its own HTTP session."""

    def __init__(self, settings: FoleySettings) -> None:
        self.settings = settings
        self.vendor_settings: VendorSettings = settings.vendor(self.info.vendor)
        self.http = VendorHttp(self.vendor_settings.label, settings.tuning, settings.secrets())

    @property
    def base_url(self) -> str:
        return self.vendor_settings.base_url

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> VendorClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- checks shared by the video providers ------------------------------------------------------

    def check_duration(self, request: GenerationRequest, minimum: float, maximum: float) -> None:
        if not minimum - 1e-3 <= request.duration <= maximum + 1e-3:
            raise InputError(
                f"{self.info.label} takes {minimum:g}–{maximum:g} s but the range is {request.duration:.2f} "
                "s. Change the range length and try again; nothing was sent."
            )

    def check_clip(
        self,
        request: GenerationRequest,
        *,
        max_bytes: int | None = None,
        containers: tuple[str, ...] = ("mp4", "mov"),
    ) -> ClipInfo | None:
        """The local clip exists, is MP4/MOV and within the size limit; returns what was read.

        Before the render there is no clip yet (None): everything else is validated
        then, and ``upload_clip`` validates again once the clip exists.
        """
        if not request.video_path:
            return None
        path = Path(request.video_path)
        if not path.is_file():
            raise InputError(f"The clip {path} does not exist; render the range again and retry.")
        try:
            clip = read_clip_info(path)
        except (OSError, ValueError) as exc:
            raise InputError(
                f"The clip {path.name} is not a readable MP4 or MOV file ({exc}); render it again as MP4."
            ) from None
        if clip.container not in containers:
            raise InputError(f"{self.info.label} takes {'/'.join(containers).upper()} clips; render as MP4.")
        if clip.size == 0:
            raise InputError(f"The clip {path.name} is empty; render the range again.")
        if max_bytes is not None and clip.size > max_bytes:
            raise InputError(
                f"The clip is {clip.size / 1e6:.1f} MB; {self.info.label} accepts at most "
                f"{max_bytes / 1e6:.0f} MB. Render at a lower resolution or bitrate and try again; nothing "
                "was sent."
            )
        return clip

    def check_clip_length(
        self,
        clip: ClipInfo | None,
        minimum: float,
        maximum: float,
        *,
        tolerance: float = 0.05,
        required: bool = False,
    ) -> None:
        """The clip's own length (from its header) must fit too.

        ``required``: a clip whose header gives no length is refused (the vendor measures it).
        """
        if clip is None:
            return
        if clip.duration is None:
            if required:
                raise InputError(
                    f"The length of the clip {clip.path.name} cannot be read, and {self.info.label} takes "
                    f"{minimum:g}–{maximum:g} s only. Render the range again as MP4; nothing was sent."
                )
            return
        if not minimum - tolerance <= clip.duration <= maximum + tolerance:
            shown = f"{clip.duration:.2f}"
            if minimum <= float(shown) <= maximum:  # 2.9996 s must not read "3.00 s" in the refusal
                shown = f"{clip.duration:.4f}"
            raise InputError(
                f"The clip lasts {shown} s but {self.info.label} takes {minimum:g}–{maximum:g} "
                "s. Change the range and render again; nothing was sent."
            )

    # -- download ----------------------------------------------------------------------------------

    def download(
        self, status: TaskStatus, dest_stem: Path, cancel: threading.Event | None = None
    ) -> AudioFile:
        if not status.audio_urls:
            raise DownloadError(
                f"{self.info.label} reported success but returned no audio file. Generate again, or report "
                "it to the vendor."
            )
        return download_audio(self.http, status.audio_urls[0], Path(dest_stem), cancel=cancel)


def json_number(value: float, places: int) -> float | int:
    """``value`` rounded to ``places`` decimals, as an int when whole (some vendor schemas say integer)."""
    rounded = round(value, places)
    return int(rounded) if rounded.is_integer() else rounded


def first_str(data: Any, *keys: str) -> str:
    """The first non-empty string among ``data[key]`` for ``keys`` (tolerant of odd shapes)."""
    if isinstance(data, Mapping):
        for key in keys:
            value = data.get(key)
            if isinstance(value, str | int | float) and not isinstance(value, bool) and str(value):
                return str(value)
    return ""
