"""The one way a free file name is found: ``stem``, else ``stem-2``, ``stem-3``... (never overwrite).

Used for a result's stem before the download (``core/naming.unique_stem``: no file of that
stem with any extension exists) and for the downloaded file itself (``download.py``: the
sniffed extension appended). Stdlib only.
"""

from __future__ import annotations

from collections.abc import Callable

#: far more than any folder holds of one take; the search is bounded
MAX_NUMBER = 100_000


def first_free(stem: str, taken: Callable[[str], bool]) -> str:
    """``stem`` if ``taken(stem)`` is False, else the first of ``stem-2``, ``stem-3``... that is free."""
    if not taken(stem):
        return stem
    for number in range(2, MAX_NUMBER):
        candidate = f"{stem}-{number}"
        if not taken(candidate):
            return candidate
    raise FileExistsError(f"No free file name for {stem}; tidy the folder and try again.")
