"""The bpy-free half of the Blender layer: what workers run imports no bpy (not even through
another module of the package), takes Blender's values as arguments, and the pump's job view
follows events alone."""

from __future__ import annotations

import ast
import inspect
from dataclasses import replace
from pathlib import Path

from vse_foley.blender import clip_cache
from vse_foley.blender.job_view import JobView
from vse_foley.core.jobs import Job, JobState
from vse_foley.core.timeline import FrameRange
from vse_foley.providers.base import GenerationRequest

PACKAGE = Path(__file__).resolve().parents[3]
#: modules whose code runs on worker threads or the warm-up thread (plus core/ and providers/)
WORKER_SIDE = ("blender/clip_cache.py", "blender/render_pool.py", "blender/job_view.py", "blender/logs.py",
               "blender/decode.py", "blender/render_priority.py")


def _imports(path: Path) -> set[str]:
    """Package-relative module paths (``core/jobs.py``) and top-level names (``bpy``) ``path``
    imports anywhere in it, function-level imports included."""
    found: set[str] = set()
    folder = path.parent.relative_to(PACKAGE)
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                found.add((node.module or "").split(".")[0])
                continue
            base = folder
            for _ in range(node.level - 1):
                base = base.parent
            target = base.joinpath(*node.module.split(".")) if node.module else base
            candidates = [target / f"{alias.name}.py" for alias in node.names]  # from . import name
            if node.module:
                candidates += [target.with_suffix(".py"), target / "__init__.py"]
            found |= {str(candidate) for candidate in candidates if (PACKAGE / candidate).is_file()}
    return found


def _reaches_bpy(start: str) -> list[str]:
    """The import chain from ``start`` to a module that imports bpy, or [] when there is none."""
    seen: dict[str, str | None] = {start: None}
    todo = [start]
    while todo:
        current = todo.pop()
        imported = _imports(PACKAGE / current)
        if "bpy" in imported:
            chain = [current]
            while seen[chain[-1]] is not None:
                chain.append(seen[chain[-1]])  # type: ignore[arg-type]
            return chain[::-1] + ["bpy"]
        for module in imported:
            if module.endswith(".py") and module not in seen:
                seen[module] = current
                todo.append(module)
    return []


def test_worker_side_modules_import_no_bpy_directly_or_through_the_package() -> None:
    modules = [*WORKER_SIDE, *(str(p.relative_to(PACKAGE)) for p in sorted((PACKAGE / "core").glob("*.py"))),
               *(str(p.relative_to(PACKAGE)) for p in sorted((PACKAGE / "providers").glob("*.py")))]
    chains = {module: chain for module in modules if (chain := _reaches_bpy(module))}
    assert chains == {}


def test_the_checker_sees_an_import_of_bpy_through_the_package() -> None:
    assert _reaches_bpy("blender/render_settings.py")[-2:] == ["compat.py", "bpy"]  # compat imports bpy


def test_workers_take_blenders_values_as_arguments() -> None:
    assert list(inspect.signature(clip_cache.render_command).parameters) == ["spec", "binary_path"]
    assert {"user_dir", "binary_path"} <= set(inspect.signature(clip_cache.ClipCache).parameters)
    assert "user_dir" in inspect.signature(clip_cache.prune_work_files).parameters
    spec = clip_cache.ClipSpec("/x.blend", "Scene", 1, 10, 180, "/out", "clip")
    assert clip_cache.render_command(spec, "/opt/blender")[:2] == ["/opt/blender", "-b"]
    assert clip_cache.render_command(spec, "")[1] == "-c"  # the bpy module: this Python runs the render


def _job(state: JobState, **changes: object) -> Job:
    job = Job.create(GenerationRequest("vidu.text2audio", 2.0, prompt="p"), FrameRange(1, 50), 25)
    return replace(job, state=state, **changes)


def test_the_view_follows_a_job_from_queued_to_inserted() -> None:
    view = JobView()
    job = _job(JobState.QUEUED)
    view.note(job)
    assert view.running_count() == 1 and not view.has_waiting()
    ready = replace(job, state=JobState.READY)
    view.note(ready)
    assert view.running_count() == 0 and [j.id for j in view.take_untried()] == [job.id]
    assert view.take_untried() == []  # tried once, until it changes or everything is retried
    view.retry_all()
    assert [j.id for j in view.take_untried()] == [job.id]
    view.note(replace(ready, insert_error="No free channel."))  # waits for the user, not the pump
    assert not view.has_waiting()
    view.note(replace(ready, state=JobState.INSERTED))
    assert not view.has_waiting() and view.running_count() == 0


def test_the_view_ignores_chunks_for_insertion_and_counts_them_as_running() -> None:
    view = JobView()
    chunk = _job(JobState.READY, parent_id="parent")
    view.note(chunk)
    assert not view.has_waiting()  # a chunk lands through its parent
    view.note(replace(chunk, state=JobState.GENERATING))
    assert view.running_count() == 1


def test_a_countdown_is_seen_only_on_running_jobs() -> None:
    view = JobView()
    view.note(_job(JobState.QUEUED, retry_at=100.0))
    view.note(_job(JobState.FAILED, retry_at=100.0))
    assert view.counting_down(now=50.0)
    assert not view.counting_down(now=150.0)


def test_waiting_jobs_are_tried_in_the_order_they_changed() -> None:
    view = JobView()
    jobs = [_job(JobState.READY) for _ in range(3)]
    for job in reversed(jobs):
        view.note(job)
    assert [j.id for j in view.take_untried()] == [j.id for j in reversed(jobs)]
    view.retry([jobs[1].id, "unknown"])
    assert [j.id for j in view.take_untried()] == [jobs[1].id]
