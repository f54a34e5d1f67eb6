"""File names for generated audio: from the job, never from the vendor.

A stem is ``<provider-short>_<prompt-slug>_<jobid>``: ASCII only, no characters
Windows refuses, never a reserved device name, short enough for deep folders.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

MAX_SLUG = 40
MAX_PROVIDER_SHORT = 24

_WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul"} | {f"com{i}" for i in range(10)} | {f"lpt{i}" for i in range(10)}
)
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(text: str, max_length: int = MAX_SLUG, fallback: str = "untitled") -> str:
    """Lower-case ASCII words joined by ``-``, cut at a word boundary to ``max_length``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = _NOT_SLUG.sub("-", ascii_text.lower()).strip("-")
    if len(slug) > max_length:
        cut = slug[: max_length + 1]
        slug = cut.rsplit("-", 1)[0] if "-" in cut[1:] else slug[:max_length]
        slug = slug[:max_length].strip("-")
    if not slug:
        slug = fallback
    if slug in _WINDOWS_RESERVED:
        slug += "-x"
    return slug


def provider_short(provider_id: str) -> str:
    """``wavespeed.think-sound`` → ``wavespeed-think-sound`` (≤ 24 characters)."""
    return slugify(provider_id.replace(".", "-"), MAX_PROVIDER_SHORT, fallback="audio")


def audio_stem(provider_id: str, prompt: str, job_id: str) -> str:
    """``<provider-short>_<prompt-slug>_<jobid>``."""
    return f"{provider_short(provider_id)}_{slugify(prompt)}_{slugify(job_id, 32, 'job')}"


def unique_stem(directory: Path, stem: str) -> Path:
    """``directory/stem`` such that no file ``stem`` or ``stem.<any extension>`` exists yet.

    The downloader adds the extension it sniffs, so every extension must be free.
    """

    def taken(candidate: str) -> bool:
        if (directory / candidate).exists():
            return True
        return any(directory.glob(f"{_glob_escape(candidate)}.*"))

    if not taken(stem):
        return directory / stem
    counter = 2
    while taken(f"{stem}-{counter}"):
        counter += 1
    return directory / f"{stem}-{counter}"


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)
