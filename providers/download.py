"""Fetch a vendor's result to disk, verified: the file is audio, complete, and never overwrites another.

The body streams to a hidden temporary file in the destination folder and is
renamed to ``dest_stem`` + the sniffed extension only when it checked out. If
that name is taken, ``_2``, ``_3``... is appended: a paid result is never
thrown away and nothing is overwritten.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

from .base import AudioFile
from .errors import CancelledError, DownloadError, NetworkError
from .file_names import first_free
from .http import AnswerTooLargeError, SlowAnswerError, VendorHttp, allowed_address, safe_url, stream_body
from .media import audio_duration, check_decodable, looks_like_text_page, sniff_audio

log = logging.getLogger(__name__)

_EXPIRED_STATUSES = frozenset({403, 404, 410})
_TRUNCATION_ATTEMPTS = 2  # a cut body is downloaded once more: downloads are free


def check_result_url(url: str, label: str) -> None:
    """Only https, or plain http to this computer (the test emulators)."""
    if allowed_address(url):
        return
    parts = urlsplit(url)
    raise DownloadError(
        f"{label} returned a result address that is not https ({parts.scheme or 'no'} scheme), so it was not "
        "downloaded. Try again; if it keeps happening, report it to the vendor."
    )


def _final_path(dest_stem: Path, ext: str) -> Path:
    """``dest_stem.ext``, or ``dest_stem-2.ext``... (the one naming scheme: providers/file_names.py)."""
    name = first_free(dest_stem.name, lambda stem: dest_stem.with_name(f"{stem}.{ext}").exists())
    return dest_stem.with_name(f"{name}.{ext}")


def place_file(temp: Path, dest_stem: Path, ext: str) -> Path:
    """Rename ``temp`` to ``dest_stem.ext`` or the first free ``_2``, ``_3``... name; never overwrites."""
    return _place(temp, dest_stem, ext)


def _place(temp: Path, dest_stem: Path, ext: str) -> Path:
    """Rename ``temp`` to a free name, atomically refusing to replace an existing file."""
    for _ in range(100):
        final = _final_path(dest_stem, ext)
        try:
            os.link(temp, final)  # fails if ``final`` appeared meanwhile: no overwrite race
        except FileExistsError:
            continue
        except OSError:
            if final.exists():
                continue
            os.replace(temp, final)  # filesystems without hard links
            return final
        temp.unlink()
        return final
    raise DownloadError(
        f"Could not find a free file name next to {dest_stem}; tidy the folder and try again."
    )


def download_audio(
    http: VendorHttp,
    url: str,
    dest_stem: Path,
    *,
    cancel: threading.Event | None = None,
    headers: Mapping[str, str] | None = None,
    address_allowed: Callable[[str], bool] | None = None,
) -> AudioFile:
    """Download ``url`` to ``dest_stem`` + sniffed extension and return the verified file.

    ``headers``: for a result behind the vendor's own credentials (a self-hosted server's
    token); ``address_allowed`` replaces the https-or-loopback rule for a server the user
    chose on their own network (ComfyUI), and only for that server's address.
    """
    label = http.label
    if address_allowed is None or not address_allowed(url):
        check_result_url(url, label)
    dest_stem = Path(dest_stem)
    folder = dest_stem.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(
            f"Cannot create the folder {folder} ({exc.strerror}); choose another output folder."
        ) from None
    last = ""
    for attempt in range(_TRUNCATION_ATTEMPTS):
        try:
            return _download_once(http, url, dest_stem, cancel, headers)
        except _TruncatedError as exc:
            log.info("%s result %s was cut short (%s), attempt %d", label, safe_url(url), exc, attempt + 1)
            last = str(exc)
    raise DownloadError(
        f"The {label} result file arrived incomplete ({last}). Try downloading again; the task itself is "
        "finished and paid."
    )


class _TruncatedError(Exception):
    pass


def _download_once(  # noqa: PLR0912, PLR0915 - each check is one rejection
    http: VendorHttp, url: str, dest_stem: Path, cancel: threading.Event | None,
    headers: Mapping[str, str] | None = None,
) -> AudioFile:
    label = http.label
    cap = http.tuning.max_download_bytes
    try:
        response = http.request("GET", url, stream=True, cancel=cancel, headers=headers)
    except NetworkError as exc:
        if exc.retryable:
            raise
        raise DownloadError(str(exc)) from None  # a refused redirect: a sentence, not a retry
    end = time.monotonic() + http.download_deadline_s
    with contextlib.closing(response):
        if response.status_code in _EXPIRED_STATUSES:
            raise DownloadError(
                f"The {label} result file is no longer available (HTTP {response.status_code}); result links "
                "expire after a while. Generate again to get a new one."
            )
        if response.status_code >= 400:
            raise DownloadError(
                f"{label} refused to send the result file (HTTP {response.status_code}). Try again later."
            )
        expected: int | None = None
        length_header = response.headers.get("Content-Length")
        if length_header and length_header.isdigit():
            expected = int(length_header)
            if expected > cap:
                raise DownloadError(
                    f"The {label} result is {expected / 1e6:.0f} MB, more than the {cap / 1e6:.0f} MB "
                    "allowed; it was not downloaded. Use a shorter range."
                )
        handle, temp_name = tempfile.mkstemp(
            prefix=f".{dest_stem.name}.", suffix=".part", dir=dest_stem.parent
        )
        temp = Path(temp_name)
        try:
            received = 0
            head = b""
            with os.fdopen(handle, "wb") as out:
                try:
                    # bounded after decompression, within a total deadline; Cancel stops it mid-read
                    for chunk in stream_body(response, label, end=end, cap=cap, cancel=cancel):
                        received += len(chunk)
                        if len(head) < 4096:
                            head += chunk[: 4096 - len(head)]
                        out.write(chunk)
                except CancelledError:
                    raise CancelledError(f"Cancelled while downloading the {label} result.") from None
                except AnswerTooLargeError:
                    raise DownloadError(
                        f"The {label} result is larger than the {cap / 1e6:.0f} MB allowed; it was "
                        "not kept. Use a shorter range."
                    ) from None
                except SlowAnswerError:
                    limit = http.download_deadline_s
                    within = f"{math.ceil(limit / 60)} minutes" if limit >= 120 else f"{limit:g} seconds"
                    raise DownloadError(
                        f"The {label} result did not arrive within {within} (a stalled or very slow "
                        "connection), so it was not kept. Retry downloads it again; the task is finished and "
                        "paid."
                    ) from None
                except NetworkError as exc:
                    raise _TruncatedError(f"connection dropped after {received} bytes") from exc
            if expected is not None and received != expected:
                raise _TruncatedError(f"{received} of {expected} bytes")
            if received == 0:
                raise DownloadError(f"The {label} result file is empty. Generate again.")
            fmt = sniff_audio(head)
            if fmt is None:
                page = looks_like_text_page(head)
                if page:
                    raise DownloadError(
                        f"{label} sent {page} instead of the audio file, usually an error or expired link. "
                        "Generate again; if it keeps happening, check the vendor's status page."
                    )
                raise DownloadError(
                    f"The {label} result is not a WAV, MP3, FLAC, OGG or MP4 audio file, so it was not kept. "
                    "Try another provider or report it to the vendor."
                )
            final = _place(temp, dest_stem, fmt)
        except BaseException:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise
    problem = check_decodable(final, fmt)
    if problem:  # kept on disk (it was paid for), but never inserted as a one-frame strip
        raise DownloadError(
            f"The {label} result is not playable {fmt.upper()} audio: {problem}. The file was kept at "
            f"{final} "
            "but not inserted. Generate again; if it keeps happening, report it to the vendor."
        )
    duration = audio_duration(final, fmt)
    log.info(
        "%s result saved to %s (%s, %d bytes, %s s)",
        label,
        final.name,
        fmt,
        received,
        f"{duration:.2f}" if duration is not None else "?",
    )
    return AudioFile(path=final, format=fmt, size=received, duration=duration)


def keep_answer(data: bytes, dest_stem: Path, label: str) -> AudioFile:
    """A paid answer that IS the audio (ElevenLabs): on disk first, checked after, never overwriting.

    The bytes are written and fsync'd under ``dest_stem`` + the sniffed extension before
    anything else looks at them; an answer that is not audio is still kept (``.answer``, it may
    have been paid for) and the DownloadError says where.
    """
    dest_stem = Path(dest_stem)
    try:
        dest_stem.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(
            f"Cannot create the folder {dest_stem.parent} ({exc.strerror}); choose another output folder."
        ) from None
    fmt = sniff_audio(data[:4096])
    handle, temp_name = tempfile.mkstemp(prefix=f".{dest_stem.name}.", suffix=".part", dir=dest_stem.parent)
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        final = _place(temp, dest_stem, fmt or "answer")
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    if fmt is None:
        what = looks_like_text_page(data[:4096]) or "something that is not WAV, MP3, FLAC, OGG or MP4 audio"
        raise DownloadError(
            f"{label} answered with {what}; it was kept at {final} but not inserted. Check it, and report it "
            "to the vendor if it keeps happening."
        )
    problem = check_decodable(final, fmt)
    if problem:
        raise DownloadError(
            f"The {label} answer is not playable {fmt.upper()} audio: {problem}. It was kept at {final} but "
            "not inserted."
        )
    duration = audio_duration(final, fmt)
    log.info("%s answer saved to %s (%s, %d bytes)", label, final.name, fmt, len(data))
    return AudioFile(path=final, format=fmt, size=len(data), duration=duration)


def kept_answer(path: Path) -> AudioFile:
    """The AudioFile of an answer ``keep_answer`` saved earlier (the engine's download step)."""
    with path.open("rb") as stream:
        head = stream.read(4096)
    fmt = sniff_audio(head) or "answer"
    return AudioFile(path=path, format=fmt, size=path.stat().st_size, duration=audio_duration(path, fmt))
