"""The emulator in a process of its own, for measurements: an in-process server
would share the GIL with the code being timed."""

from __future__ import annotations

import shlex
import socket
import subprocess
import sys
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class EmulatorProcess:
    """``python -m devtools.emulator`` on a free loopback port; ``environ()`` points clients at it."""

    def __init__(self, task_seconds: float = 0.0, min_polls: int = 1,
                 account_limits: dict[str, int] | None = None) -> None:
        limits = [f"--account-limit={vendor}={count}" for vendor, count in (account_limits or {}).items()]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "devtools.emulator", "--port", str(free_port()), "--task-seconds",
             str(task_seconds), "--min-polls", str(min_polls), "--quiet", *limits],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        self._environ: dict[str, str] = {}
        assert self.process.stdout is not None
        for line in self.process.stdout:  # the export lines come first, then it serves
            if not line.startswith("export "):
                break
            name, _, value = line.removeprefix("export ").strip().partition("=")
            self._environ[name] = shlex.split(value)[0]
            if name == "VSE_FOLEY_FLEXSTACK_URL":  # the last one printed
                break
        if not self._environ:
            self.close()
            raise RuntimeError("the emulator process did not start")

    def environ(self) -> dict[str, str]:
        return dict(self._environ)

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()
