"""Clip renders in long-lived Blender processes: one start and one file load for many clips.

A clip render is a whole background Blender (``render_process``). Starting one costs about a
second of processor time before the first frame, and a batch of 24 shots paid it 24 times on a
2-core machine where renders already bound the batch (issue 13 item 3). So the clips go to a
few render processes that stay up between clips:

- at most ``size`` at once (the machine's render budget, ``core/render_ahead.py``); further
  requests wait their turn, first come first served, so a render never competes with more
  renders than the machine can take;
- each process reads one request a line on its stdin and answers with one
  ``RESULT_MARKER`` line on its stdout (Blender prints a line per frame there too, so a
  reader thread drains it: a full pipe would stall the render);
- a process that errs, is cancelled (killed: a Cancel must stop the render now), runs past
  the timeout or has rendered ``MAX_CLIPS_PER_PROCESS`` clips is replaced by a fresh one;
- a process idle for ``idle_s`` (``IDLE_S``) exits, so a finished batch gives its memory back.

Runs on worker threads, no bpy: the binary path is captured on the main thread.
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import subprocess
import sys
import threading
import time
from typing import IO

from ..providers.errors import CancelledError, FoleyError
from .clip_cache import PACKAGE_DIR, RENDER_TIMEOUT_S, RESULT_MARKER, ClipSpec, spec_arguments
from .render_priority import lowered

log = logging.getLogger(__name__)

#: an idle render process exits after this long (it holds a Blender's memory)
IDLE_S = 30.0
#: a fresh process after this many clips, so nothing a render leaves behind piles up
MAX_CLIPS_PER_PROCESS = 25
#: lines of a process's output kept to explain a failure
TAIL_LINES = 40

_SERVE_BOOT = (
    "import sys, json, importlib; args = json.loads(sys.argv[-1]); "
    "sys.path.insert(0, args['package_parent']); "
    "importlib.import_module(args['package'] + '.blender.render_process').serve()"
)


def serve_command(binary_path: str) -> list[str]:
    """The command of a render process that serves requests from its stdin (see ``render_process.serve``)."""
    payload = json.dumps({"package_parent": str(PACKAGE_DIR.parent), "package": PACKAGE_DIR.name})
    if binary_path:
        return [binary_path, "-b", "--factory-startup", "--python-exit-code", "1", "--python-expr",
                _SERVE_BOOT, "--", payload]
    return [sys.executable, "-c", _SERVE_BOOT, payload]


class _RenderProcess:
    """One serving Blender process and the thread that reads what it prints."""

    def __init__(self, command: list[str]) -> None:
        command, creationflags = lowered(command)  # below the editor's Blender (render_priority)
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, bufsize=1, creationflags=creationflags,
        )
        self.clips = 0
        self.idle_since = time.monotonic()
        self._results: collections.deque[dict[str, object]] = collections.deque()
        self._tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self._answered = threading.Condition()
        self._ended = False
        stdout = self.process.stdout
        assert stdout is not None
        self._reader = threading.Thread(target=self._read, args=(stdout,), name="foley-render-output",
                                        daemon=True)
        self._reader.start()

    def _read(self, stdout: IO[str]) -> None:
        for line in stdout:
            if line.startswith(RESULT_MARKER):
                try:
                    result = json.loads(line[len(RESULT_MARKER):])
                except ValueError:
                    result = {"ok": False, "error": "the render process answered something unreadable"}
                with self._answered:
                    self._results.append(result)
                    self._answered.notify_all()
            else:
                self._tail.append(line.rstrip())
        with self._answered:
            self._ended = True
            self._answered.notify_all()

    @property
    def alive(self) -> bool:
        return self.process.poll() is None and not self._ended

    def render(self, spec: ClipSpec, cancel: threading.Event | None, timeout_s: float) -> dict[str, object]:
        stdin = self.process.stdin
        assert stdin is not None
        try:
            stdin.write(json.dumps(spec_arguments(spec)) + "\n")
            stdin.flush()
        except OSError:
            stopped = f"The clip render process stopped before it took the clip ({self.why()})."
            raise FoleyError(stopped) from None
        deadline = time.monotonic() + timeout_s
        with self._answered:
            while not self._results:
                if cancel is not None and cancel.is_set():
                    raise CancelledError("The clip render was cancelled.")
                if time.monotonic() > deadline:
                    raise FoleyError("Rendering the clip took longer than 30 minutes; try a shorter range.")
                if self._ended:
                    raise FoleyError(f"The clip render process stopped without a clip ({self.why()}).")
                self._answered.wait(0.1)  # short: a Cancel is seen within a tenth of a second
            result = self._results.popleft()
        self.clips += 1
        if not result.get("ok"):
            raise FoleyError(f"Rendering the clip failed: {result.get('error')}")
        return result

    def why(self) -> str:
        if self.process.poll() is not None:
            self._reader.join(timeout=2)  # an ended process's last words are still in the pipe
        tail = [line for line in self._tail if line.strip()]
        return tail[-1] if tail else f"exit code {self.process.poll()}"

    def close(self) -> None:
        """Ask it to end (stdin closed), and make sure it does."""
        with contextlib.suppress(OSError):
            if self.process.stdin is not None:
                self.process.stdin.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)


class RenderPool:
    """Up to ``size`` serving render processes, shared by every clip render of a session."""

    def __init__(self, binary_path: str, size: int, idle_s: float = IDLE_S) -> None:
        self._command = serve_command(binary_path)
        self._size = max(1, int(size))
        self._idle_s = idle_s
        self._idle: list[_RenderProcess] = []
        self._busy = 0
        self._peak_busy = 0
        self._started = 0
        self._closing = 0  # idle processes being ended by the reaper
        self._warming = False  # ``warm`` is starting a process
        self._queue: collections.deque[object] = collections.deque()  # waiting callers, in order
        self._changed = threading.Condition()
        self._closed = False
        self._reaper: threading.Thread | None = None

    @property
    def size(self) -> int:
        return self._size

    def render(self, spec: ClipSpec, cancel: threading.Event | None = None,
               timeout_s: float = RENDER_TIMEOUT_S) -> dict[str, object]:
        """Render one clip (worker thread); waits for a free process, first come first served."""
        process = self._take(cancel)
        healthy = False
        try:
            result = process.render(spec, cancel, timeout_s)
            healthy = True
            return result
        finally:
            self._give_back(process, healthy)

    def _take(self, cancel: threading.Event | None) -> _RenderProcess:
        turn = object()
        with self._changed:
            self._queue.append(turn)
            try:
                while True:
                    if self._closed:
                        raise CancelledError("VSE Foley is shutting down; the clip was not rendered.")
                    if cancel is not None and cancel.is_set():
                        raise CancelledError("The clip render was cancelled.")
                    if self._queue[0] is turn and self._busy < self._size and not self._warming:
                        break
                    self._changed.wait(0.1)
            finally:
                self._queue.remove(turn)
                self._changed.notify_all()
            self._busy += 1
            self._peak_busy = max(self._peak_busy, self._busy)
            process = None
            while self._idle:
                candidate = self._idle.pop()
                if candidate.alive:
                    process = candidate
                    break
                candidate.kill()
        if process is None:
            try:
                process = _RenderProcess(self._command)
                with self._changed:
                    self._started += 1
            except Exception as error:  # OSError, or ValueError/SubprocessError from a bad binary path
                with self._changed:
                    self._busy -= 1  # else every failed start would keep a place of the pool
                    self._changed.notify_all()
                raise FoleyError(f"The clip render process could not start ({error}).") from None
        return process

    def warm(self) -> None:
        """Start a render process before the first clip is asked for (Generate of a video
        provider), so its Blender start overlaps the rest of the enqueue; returns at once."""
        with self._changed:
            if self._closed or self._busy or self._idle or self._warming:
                return
            self._warming = True
        try:
            threading.Thread(target=self._start_warm, name="foley-render-warm", daemon=True).start()
        except RuntimeError as error:  # no thread to be had: the first clip starts its own process
            log.info("Could not start a render process ahead: %s", error)
            with self._changed:
                self._warming = False  # every render waits while this is set
                self._changed.notify_all()

    def _start_warm(self) -> None:
        process: _RenderProcess | None = None
        try:
            process = _RenderProcess(self._command)
        except Exception as error:  # any failure: the first clip starts one itself and reports it
            log.info("Could not start a render process ahead: %s", error)
        with self._changed:
            self._warming = False
            if process is not None:
                self._started += 1
                if self._closed:
                    process.kill()
                else:
                    process.idle_since = time.monotonic()
                    self._idle.append(process)
                    self._start_reaper()
            self._changed.notify_all()

    def _give_back(self, process: _RenderProcess, healthy: bool) -> None:
        keep = healthy and process.alive and process.clips < MAX_CLIPS_PER_PROCESS
        if not keep:
            process.kill()  # cancelled, timed out or failed mid-render: the next clip gets a fresh one
        with self._changed:
            self._busy -= 1
            if keep and not self._closed:
                process.idle_since = time.monotonic()
                self._idle.append(process)
                self._start_reaper()
            elif keep:
                process.close()
            self._changed.notify_all()

    def _start_reaper(self) -> None:
        """Under the lock: one thread that ends processes left idle for ``idle_s``."""
        if self._reaper is None or not self._reaper.is_alive():
            self._reaper = threading.Thread(target=self._reap, name="foley-render-reaper", daemon=True)
            self._reaper.start()

    def _reap(self) -> None:
        while True:
            with self._changed:
                if not self._idle or self._closed:
                    return
                now = time.monotonic()
                expired = [process for process in self._idle if now - process.idle_since >= self._idle_s]
                if not expired:
                    self._changed.wait(min(process.idle_since for process in self._idle) + self._idle_s - now)
                    continue
                self._idle = [process for process in self._idle if process not in expired]
                self._closing += len(expired)
            for process in expired:  # outside the lock: ending one may take a moment
                process.close()
            with self._changed:
                self._closing -= len(expired)
                self._changed.notify_all()  # ``wait_until_no_processes`` looks again

    def processes(self) -> int:
        """Render processes alive now, busy or idle (tests)."""
        with self._changed:
            return self._busy + sum(1 for process in self._idle if process.alive)

    def counts(self) -> tuple[int, int]:
        """(most renders that ran at once, processes started so far): tests and the bench."""
        with self._changed:
            return self._peak_busy, self._started

    def wait_until_no_processes(self, timeout_s: float) -> bool:
        """Tests: True once every process has ended (idle ones end after ``idle_s``)."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while self._busy or self._idle or self._closing:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
            return True

    def close(self) -> None:
        """Shutdown: idle processes end; a render in progress is stopped by its job's Cancel."""
        with self._changed:
            self._closed = True
            idle, self._idle = self._idle, []
            self._changed.notify_all()
        for process in idle:
            process.close()
