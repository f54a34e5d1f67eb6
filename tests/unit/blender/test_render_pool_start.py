"""A render process that cannot start is a sentence for the clip that needed it, never a pool that
waits forever: whatever the start raises (a path with a NUL byte is a ValueError), in a warm-up
or in a render. The pool's renders themselves are tests/blender/test_render_pool.py's."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from vse_foley.blender.clip_cache import ClipSpec
from vse_foley.blender.render_pool import RenderPool
from vse_foley.providers.errors import FoleyError


def spec(tmp_path: Path) -> ClipSpec:
    return ClipSpec(str(tmp_path / "edit.blend"), "Scene", 1, 10, 180, str(tmp_path / "clip"), "clip")


def render_in_thread(pool: RenderPool, tmp_path: Path) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            pool.render(spec(tmp_path), threading.Event())
        except BaseException as error:  # what the render raised is the test's subject
            errors.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, errors


@pytest.mark.parametrize(("binary", "sentence"), [
    ("/no/such/blender", "No such file"),  # started through ``nice``, which then says why it cannot
    ("/opt/blen\0der", "could not start"),  # refused by Popen itself (ValueError)
])
def test_a_failed_warm_up_does_not_hold_the_renders_and_a_failed_start_frees_its_place(
        tmp_path: Path, binary: str, sentence: str) -> None:
    pool = RenderPool(binary, size=1)
    try:
        pool.warm()  # starts the process on a thread: it fails there
        for _ in range(2):  # the second proves the first failed start gave its place back
            thread, errors = render_in_thread(pool, tmp_path)
            thread.join(10)
            assert not thread.is_alive(), "the render waited for a process that will never come"
            [error] = errors
            assert isinstance(error, FoleyError) and sentence in str(error)
        assert pool.processes() == 0
    finally:
        pool.close()
