"""Which open scene a job belongs to: an id stored in the .blend, not a path string.

Every scene a job is made from carries a random id (a custom property, so it is
saved with the file, survives Save As and is copied with the scene). A job
records that id and the file's path; ``save_post`` keeps the path current, so a
job follows its edit through Ctrl+S and Save As. A new file (File ▸ New, the
start-up file) never keeps an id it inherited from the start-up .blend: such an
id would make a job of an unsaved, lost session land in an unrelated file.
"""

from __future__ import annotations

import uuid
from typing import Any

import bpy

from ..core.jobs import Job
from .strip_metadata import EDIT_ID_KEY


def scene_edit_id(scene: Any) -> str:
    value = scene.get(EDIT_ID_KEY, "") if scene is not None else ""
    return value if isinstance(value, str) else ""


def edit_id_for(scene: Any) -> str:
    """The scene's edit id, made on first use (called from Generate, so it is part of its undo step)."""
    existing = scene_edit_id(scene)
    if existing:
        return existing
    new_id = uuid.uuid4().hex
    scene[EDIT_ID_KEY] = new_id
    return new_id


def forget_inherited_ids() -> int:
    """Drop ids a new, unsaved file inherited from the start-up .blend; returns how many.

    Called from ``load_post`` only when ``bpy.data.filepath`` is empty (File ▸ New,
    start-up). Changing data there is neither undoable nor marks the file modified
    (``wm_files.cc``, ``wm_file_read_post`` runs ``load_post`` before the undo stack
    is reset), which is what we want: the unsaved file simply has no id yet.
    """
    if bpy.data.filepath:
        return 0
    count = 0
    for scene in bpy.data.scenes:
        if scene.get(EDIT_ID_KEY) is not None:
            del scene[EDIT_ID_KEY]
            count += 1
    return count


def scene_of_job(job: Job) -> Any:
    """The open scene ``job`` belongs to, else None (it waits as ready).

    The file must be the job's file (its path is kept current on save) and hold a
    scene with the job's edit id — the scene of that name first, so a full copy of
    the scene does not steal the sound. If the file was not saved after Generate
    gave the scene its id, the scene of that name without any id is the one. Jobs of
    older versions (no id) match by path and scene name, but never an unsaved file:
    any new file would match "".
    """
    if job.blend_path != bpy.data.filepath:
        return None
    if job.edit_id:
        same = [scene for scene in bpy.data.scenes if scene_edit_id(scene) == job.edit_id]
        if same:
            return next((s for s in same if s.name == job.scene_name), same[0])
    if not job.blend_path:
        return None
    scene = bpy.data.scenes.get(job.scene_name)
    if job.edit_id and scene is not None and scene_edit_id(scene):
        return None  # another edit was saved under this name since
    # Older jobs, or the id was given after the file's last save (Generate, then not saved).
    return scene


def ids_in_open_file() -> set[str]:
    return {scene_edit_id(scene) for scene in bpy.data.scenes} - {""}


def why_not_open(job: Job) -> str:
    """The true reason ``scene_of_job`` found nothing, as a sentence with what to do."""
    if not job.blend_path and job.edit_id not in ids_in_open_file():
        return ("it was made in a file that was never saved, which is not open; use Insert on the job to "
                "place it in the open scene.")
    if job.blend_path != bpy.data.filepath:
        return f"it belongs to {job.blend_path or 'an unsaved file'}; open that file (it is inserted then)."
    return (f"its scene '{job.scene_name}' is no longer in this file; use Insert on the job to place it in "
            "the open scene.")
