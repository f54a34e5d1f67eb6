"""``python -m devtools.emulator``: serve all vendors in the foreground until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading
from types import FrameType

from .flexstack import RESULT_SHAPES
from .server import VendorEmulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--task-seconds", type=float, default=2.0, help="seconds before a task can finish")
    parser.add_argument("--min-polls", type=int, default=1, help="polls before a task can finish")
    parser.add_argument("--flexstack-result-shape", choices=RESULT_SHAPES, default="celery")
    parser.add_argument("--quiet", action="store_true", help="do not log requests")
    parser.add_argument("--account-limit", action="append", default=[], metavar="VENDOR=N",
                        help="tasks at once on the vendor's account (a higher tier), e.g. vidu=8")
    args = parser.parse_args(argv)

    emulator = VendorEmulator(
        host=args.host,
        port=args.port,
        task_seconds=args.task_seconds,
        min_polls=args.min_polls,
        flexstack_result_shape=args.flexstack_result_shape,
        verbose=not args.quiet,
    )
    for item in args.account_limit:
        vendor, _, count = item.partition("=")
        emulator.accounts.limits[vendor] = int(count)
    # Test keys only: printing them is how a shell gets pointed at the emulator.
    for name, value in emulator.environ().items():
        print(f"export {name}={shlex.quote(value)}")
    print(f"# vendor emulator listening on {emulator.root_url} (Ctrl+C to stop)", file=sys.stderr, flush=True)
    sys.stdout.flush()

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        emulator.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
