"""Warm render processes: one Blender start (and one load of the edit's copy) for many clips.

A new render process per clip pays Blender's start and the file load every time; a batch
of shots pays it per shot. ``RenderPool.render_clip`` sends each clip to a process that
stays (``render_process.serve``): one request a line on its stdin, one result line on its
stdout. Runs on worker threads and imports no bpy, like ``clip_cache``.

- A process renders one clip at a time; the pool starts another when all are busy and keeps
  at most ``keep`` idle ones (render-ahead runs a few renders at once).
- Cancel or a timeout kills the process (a render cannot be interrupted); the next clip
  starts a fresh one. A process that ended while idle (its own idle exit, a crash) is
  replaced, and a request it never answered is sent once more to a fresh process.
- ``close()`` (at session shutdown) ends them all; a process also ends when its parent
  goes away (its stdin closes) or after ``idle_exit_s`` without a request.
"""

from __future__ import annotations

import json
import queue
import subprocess
import tempfile
import threading
import time

from ..providers.errors import CancelledError, FoleyError
from .clip_cache import (
    DEFAULT_IDLE_EXIT_S,
    RENDER_TIMEOUT_S,
    RESULT_MARKER,
    ClipSpec,
    render_args,
    serve_command,
)

#: idle processes kept for the next clips (more start when more renders run at once)
DEFAULT_KEEP = 2


class _ProcessEndedError(FoleyError):
    """The process ended before it answered (``answered_nothing``: not a word about this request)."""

    def __init__(self, message: str, answered_nothing: bool) -> None:
        super().__init__(message)
        self.answered_nothing = answered_nothing


class RenderProcess:
    """One warm render process; ``render`` is called by one thread at a time (the pool's rule)."""

    def __init__(self, command: list[str]) -> None:
        # stderr: the reason when it dies; open as long as the process (closed by ``close``)
        self._log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115
        # stdout is read all the time by a thread: Blender prints a line per frame and a full pipe
        # would stall it.
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=self._log, text=True, bufsize=1)
        self._answers: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read_answers, name="foley-render-answers", daemon=True)
        self._reader.start()
        self.clips_rendered = 0

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def _read_answers(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            if line.startswith(RESULT_MARKER):
                self._answers.put(line[len(RESULT_MARKER):])
        self._answers.put(None)  # the process ended

    def render(self, args: dict[str, object], cancel: threading.Event | None,
               timeout_s: float = RENDER_TIMEOUT_S) -> dict[str, object]:
        """Send one request and wait for its answer; raises FoleyError (CancelledError on cancel)."""
        assert self._process.stdin is not None
        try:
            self._process.stdin.write(json.dumps(args) + "\n")
            self._process.stdin.flush()
        except OSError as error:  # the process ended while it waited (BrokenPipeError)
            raise _ProcessEndedError(f"The clip render process stopped ({error}).",
                                     answered_nothing=True) from error
        deadline = time.monotonic() + timeout_s
        while True:
            if cancel is not None and cancel.is_set():
                self.kill()
                raise CancelledError("The clip render was cancelled.")
            if time.monotonic() > deadline:
                self.kill()
                raise FoleyError("Rendering the clip took longer than 30 minutes; try a shorter range.")
            try:
                answer = self._answers.get(timeout=0.1)
            except queue.Empty:
                continue
            if answer is None:
                reason = self._last_words()
                raise _ProcessEndedError(f"The clip render process stopped without a clip ({reason}).",
                                         answered_nothing=True)
            result: dict[str, object] = json.loads(answer)
            if not result.get("ok"):
                raise FoleyError(f"Rendering the clip failed: {result.get('error')}")
            self.clips_rendered += 1
            return result

    def _last_words(self) -> str:
        self._process.wait()
        self._log.seek(0)
        tail = self._log.read()[-400:].strip().splitlines()
        return tail[-1] if tail else f"exit code {self._process.returncode}"

    def wait_ended(self, timeout_s: float) -> bool:
        """Wait until the process has ended by itself (e.g. its idle exit); True when it has."""
        try:
            self._process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return False
        return True

    def close(self, wait_s: float = 5.0) -> None:
        """End the process: its stdin closes (it leaves its loop); killed if it does not end soon."""
        try:
            if self._process.stdin is not None:
                self._process.stdin.close()
        except OSError:
            pass
        try:
            self._process.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            self.kill()
        self._log.close()

    def kill(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()


class RenderPool:
    """The engine's clip renders in warm processes: ``ClipCache(..., render=pool.render_clip)``."""

    def __init__(self, binary_path: str, keep: int = DEFAULT_KEEP,
                 idle_exit_s: float = DEFAULT_IDLE_EXIT_S) -> None:
        self._command = serve_command(binary_path, idle_exit_s)
        self._keep = keep
        self._idle: list[RenderProcess] = []
        self._busy: set[RenderProcess] = set()
        self._guard = threading.Lock()
        self._closed = False
        self.processes_started = 0

    def _take(self) -> RenderProcess:
        with self._guard:
            if self._closed:
                raise CancelledError("The clip render was cancelled (the session is closing).")
            while self._idle:
                process = self._idle.pop()
                if process.alive:
                    self._busy.add(process)
                    return process
                process.close(wait_s=0)  # ended while idle: its own idle exit, or a crash
            process = RenderProcess(self._command)
            self.processes_started += 1
            self._busy.add(process)
            return process

    def _give_back(self, process: RenderProcess, healthy: bool) -> None:
        with self._guard:
            self._busy.discard(process)
            if healthy and not self._closed and process.alive and len(self._idle) < self._keep:
                self._idle.append(process)
                return
        process.close()

    def render_clip(self, spec: ClipSpec, cancel: threading.Event | None = None) -> dict[str, object]:
        """Worker thread: render ``spec`` in a warm process; the same result as a one-off render."""
        args = render_args(spec)
        for attempt in range(2):
            process = self._take()
            healthy = False
            try:
                result = process.render(args, cancel)
                healthy = True
                return result
            except _ProcessEndedError as ended:
                # A warm process may end on its own just before a request (its idle exit): the
                # request was never started, so one fresh process gets it again. A render is
                # repeatable (it writes the same file); a process that ends twice is an error.
                if attempt == 0 and ended.answered_nothing and process.clips_rendered > 0:
                    continue
                raise
            except FoleyError as error:
                healthy = not isinstance(error, CancelledError) and process.alive  # a refused clip keeps it
                raise
            finally:
                self._give_back(process, healthy)
        raise AssertionError("unreachable: the second attempt returns or raises")

    def close(self) -> None:
        """End every process (session shutdown); a render still running ends with its process."""
        with self._guard:
            self._closed = True
            processes = [*self._idle, *self._busy]
            self._idle.clear()
        for process in processes:
            if process in self._busy:
                process.kill()
            else:
                process.close()
