"""A small hostile vendor on 127.0.0.1: answers a client must survive without hanging or filling memory.

Routes (any prefix before them is ignored, so it can stand in for any vendor's base URL):

``/endless``        a JSON answer that never ends (chunked; stops after ``endless_limit`` bytes)
``/gzip-bomb``      a small gzip body that inflates to ``bomb_bytes``
``/trickle``        one byte every ``trickle_interval`` seconds, of a declared ``trickle_length``
``/redirect-http``  302 to plain http on another host (not loopback)
``/redirect-chain`` 302 to ``/redirect-hop`` on this server, which 302s to plain http elsewhere
``/redirect-ok``    302 to ``/audio.wav`` on this server (loopback: allowed)
``/audio.wav``      a short valid WAV file
``/files/<name>``   whatever bytes a test put in ``files[name]``
``.../creations``   a Vidu status whose unknown ``state`` echoes the caller's key (upper case, URL-encoded)
anything else       404 with a small JSON body

Every request's raw path (as sent, before any decoding) is kept in ``paths``.
Every loop here is bounded, and a write to a client that went away ends it.
"""

from __future__ import annotations

import functools
import gzip
import http.server
import io
import json
import struct
import threading
import time
from typing import Any


def tiny_wav(seconds: float = 0.5, rate: int = 8000) -> bytes:
    frames = int(seconds * rate)
    data = b"\x00\x01" * frames
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


@functools.lru_cache(maxsize=4)
def gzip_bomb(inflated_bytes: int) -> bytes:
    """A gzip body of spaces: about a thousandth of its inflated size on the wire."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=9) as packed:
        block = b" " * (1024 * 1024)
        for _ in range(inflated_bytes // len(block)):
            packed.write(block)
    return buffer.getvalue()


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # clients hanging up on hostile answers is the point, not an error


class HostileVendor:
    """``with HostileVendor() as bad: bad.url("/trickle")``."""

    def __init__(self, *, trickle_interval: float = 1.0, trickle_length: int = 200,
                 bomb_bytes: int = 64 * 1024 * 1024, endless_limit: int = 256 * 1024 * 1024) -> None:
        self.trickle_interval = trickle_interval
        self.trickle_length = trickle_length
        self.endless_limit = endless_limit
        self.paths: list[str] = []
        self.files: dict[str, bytes] = {}  # served as ``/files/<name>`` (audio/mpeg whatever they hold)
        self.on_trickle: Any = None  # called after each trickled byte (a test sets Cancel from here)
        self.bytes_sent: dict[str, int] = {}
        self._lock = threading.Lock()
        self.bomb = gzip_bomb(bomb_bytes)
        self._server = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name="hostile-vendor", daemon=True)

    def __enter__(self) -> HostileVendor:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.root + path

    def _count(self, route: str, sent: int) -> None:
        with self._lock:
            self.bytes_sent[route] = self.bytes_sent.get(route, 0) + sent

    def _handler_class(self) -> type[http.server.BaseHTTPRequestHandler]:
        vendor = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                with vendor._lock:
                    vendor.paths.append(self.path)
                route = self.path.split("?", 1)[0].rsplit("/", 1)[-1]
                try:
                    getattr(self, "_" + route.replace("-", "_").replace(".", "_"), self._not_found)()
                except (BrokenPipeError, ConnectionResetError, OSError):
                    return  # the client gave up: exactly what it should do

            do_POST = do_GET  # noqa: N815 - same answers for a submit

            def _head(self, status: int, headers: dict[str, str]) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()

            def _not_found(self) -> None:
                name = self.path.split("?", 1)[0].removeprefix("/files/")
                if self.path.startswith("/files/") and name in vendor.files:
                    data = vendor.files[name]
                    self._head(200, {"Content-Type": "application/octet-stream",
                                     "Content-Length": str(len(data))})
                    self.wfile.write(data)
                    return
                body = b'{"code": 404, "message": "no such task"}'
                self._head(404, {"Content-Type": "application/json", "Content-Length": str(len(body))})
                self.wfile.write(body)

            def _endless(self) -> None:
                self._head(200, {"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
                piece = b'{"data": "' + b"x" * 65536
                sent = 0
                while sent < vendor.endless_limit:  # bounded; the client should hang up long before
                    self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                    sent += len(piece)
                vendor._count("endless", sent)
                self.close_connection = True

            def _gzip_bomb(self) -> None:
                self._head(200, {"Content-Type": "application/json", "Content-Encoding": "gzip",
                                 "Content-Length": str(len(vendor.bomb))})
                self.wfile.write(vendor.bomb)

            def _trickle(self) -> None:
                self._head(200, {"Content-Type": "application/json",
                                 "Content-Length": str(vendor.trickle_length)})
                for _ in range(vendor.trickle_length):  # bounded by the declared length
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    vendor._count("trickle", 1)
                    if vendor.on_trickle is not None:
                        vendor.on_trickle()
                    time.sleep(vendor.trickle_interval)

            def _redirect(self, location: str) -> None:
                self._head(302, {"Location": location, "Content-Length": "0"})

            def _redirect_http(self) -> None:
                self._redirect("http://203.0.113.7/result.wav")  # TEST-NET-3: never reachable

            def _redirect_chain(self) -> None:
                self._redirect("/redirect-hop")

            def _redirect_hop(self) -> None:
                self._redirect("http://203.0.113.7/result.wav")

            def _redirect_ok(self) -> None:
                self._redirect("/audio.wav")

            def _creations(self) -> None:
                from urllib.parse import quote

                key = self.headers.get("Authorization", "").partition(" ")[2]
                state = f"stuck-{key.upper()}-{quote(key, safe='')}"
                body = json.dumps({"state": state, "err_code": key, "creations": []}).encode()
                self._head(200, {"Content-Type": "application/json", "Content-Length": str(len(body))})
                self.wfile.write(body)

            def _audio_wav(self) -> None:
                body = tiny_wav()
                self._head(200, {"Content-Type": "audio/wav", "Content-Length": str(len(body))})
                self.wfile.write(body)

        return Handler
