"""What a full, read-only or misplaced disk means for a job, in sentences (issue 11).

The engine never dies on an ``OSError``: a ledger write that fails keeps the
job in memory with a warning and is tried again by the next write; an audio
folder that cannot be written falls back to the library folder.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from .ledger import write_problem_sentence

#: how a job's warning about an unwritten ledger record starts (removed once a write succeeds)
UNRECORDED_PREFIX = "Could not record the task:"


def unrecorded_warning(sentence: str) -> str:
    return f"{UNRECORDED_PREFIX} {sentence}. The job keeps running; it is recorded once the disk allows."


def oserror_sentence(exc: OSError) -> str:
    """An OSError from any file step, as a sentence (it names the file, never a traceback)."""
    path = Path(exc.filename) if isinstance(exc.filename, str) else Path(".")
    return f"Could not write {path.name or 'a file'}: {write_problem_sentence(exc, path)}."


def folder_problem(folder: Path) -> str:
    """"" when a file can be created in ``folder`` (made if missing), else why not."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".foley-probe-", dir=folder)
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(name)
    except OSError as exc:
        return write_problem_sentence(exc, folder / "x")
    return ""
