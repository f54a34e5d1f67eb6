"""Waveform pictures of results as icons (``bpy.utils.previews``), for the job and history rows.

The PNG is drawn on the worker (``core.waveform``); the main thread only loads the
file once per job into one preview collection, removed again at unregister.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # registration imports this module: the jobs load with the warm-up instead
    from ..core.jobs import Job

_collection: Any = None


def waveform_path(job: Job) -> str:
    analysis = job.audio_info.get("analysis") or {}
    return str(analysis.get("waveform", "") or "")


def preview_for(job: Job) -> Any:
    """The loaded ImagePreview of ``job``'s waveform, or None when it has none (or its file is gone)."""
    global _collection  # noqa: PLW0603 - one collection per Blender session, removed at unregister
    path = waveform_path(job)
    if not path:
        return None
    if _collection is None:
        import bpy.utils.previews

        _collection = bpy.utils.previews.new()
    preview = _collection.get(job.id)
    if preview is None:
        if not Path(path).is_file():
            return None
        preview = _collection.load(job.id, path, "IMAGE")
    return preview


def icon_id(job: Job) -> int:
    """The waveform's icon for a label, 0 when there is none.

    Seen under the bpy module (background, no UI icons): the image loads (``image_size``
    is the PNG's) but ``icon_id`` stays 0; the row then falls back to a plain icon.
    """
    preview = preview_for(job)
    return int(preview.icon_id) if preview is not None else 0


def loaded_count() -> int:
    return 0 if _collection is None else len(_collection)


def unregister() -> None:
    global _collection  # noqa: PLW0603
    if _collection is not None:
        import bpy.utils.previews

        bpy.utils.previews.remove(_collection)
        _collection = None
