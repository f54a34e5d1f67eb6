"""A real S3-compatible server on 127.0.0.1 for the tests and the demo: nanio (requirements/dev.txt).

nanio verifies AWS Signature V4 on every request, in the Authorization header and in
presigned URLs alike, so a wrong secret, a tampered link or an expired one is refused as
AWS S3 would refuse it. It runs in a process of its own with a fresh data folder and one
private bucket; ``environ()`` gives the settings a user would set.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

import requests
from aws_request_signer import AwsRequestSigner

ACCESS_KEY_ID = "VSEFOLEYTESTKEY01"
#: Characters a URL would encode (/ and +), so a leak in any encoding shows in the tests.
SECRET_ACCESS_KEY = "s3-test-secret/Kq+9zV2wXr7LmN4pT8yB"
REGION = "eu-test-1"
BUCKET = "foley-clips"
START_TIMEOUT = 30.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])

def wait_until_listening(process: subprocess.Popen[bytes], port: int, log_path: Path, name: str) -> None:
    """Return once ``process`` listens on ``port`` of 127.0.0.1; raise with its log if it exits."""
    end = time.monotonic() + START_TIMEOUT
    while time.monotonic() < end:  # bounded: the process either listens or exits
        if process.poll() is not None:
            output = log_path.read_text(errors="replace")[-500:]
            raise RuntimeError(f"{name} exited: {output}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{name} did not start listening in time")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    """Terminate a test server's process, killing it if it does not end within 10 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def signed_request(signer: AwsRequestSigner, method: str, url: str, body: bytes = b"") -> requests.Response:
    """One header-signed (SigV4) request with ``signer``'s key."""
    headers = signer.sign_with_headers(method, url, content_hash=hashlib.sha256(body).hexdigest())
    return requests.request(method, url, headers=headers, data=body or None, timeout=10)


class S3Server:
    """``nanio serve`` on a free loopback port with one bucket; stop it with ``close()``.

    ``limited_keys`` (name -> refused S3 actions, e.g. ``{"write-no-delete": ["s3:DeleteObject"]}``)
    adds keys that may not do everything: nanio then runs with devtools/s3_key_rights.py's layer.
    """

    def __init__(self, bucket: str = BUCKET, limited_keys: Mapping[str, Sequence[str]] | None = None) -> None:
        self.bucket = bucket
        self.port = _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.folder = Path(tempfile.mkdtemp(prefix="vse-foley-s3-"))
        self.log_path = self.folder / "server.log"
        env = dict(os.environ, NANIO_ACCESS_KEY=ACCESS_KEY_ID, NANIO_SECRET_KEY=SECRET_ACCESS_KEY)
        #: name -> (access key id, secret) of each limited key
        self.limited = {name: (f"VSEFOLEYLIMITED{index:02d}", f"{SECRET_ACCESS_KEY}-{name}")
                        for index, name in enumerate(limited_keys or {})}
        command = [sys.executable, "-m", "nanio", "serve", "--data-dir", str(self.folder / "data"),
                   "--host", "127.0.0.1", "--port", str(self.port), "--region", REGION,
                   "--log-level", "warning", "--no-access-log"]
        if limited_keys:
            rights = self.folder / "rights.json"
            rights.write_text(json.dumps({
                "data_dir": str(self.folder / "data"), "port": self.port, "region": REGION,
                "keys": {ACCESS_KEY_ID: SECRET_ACCESS_KEY, **dict(self.limited.values())},
                "refused": {self.limited[name][0]: list(actions) for name, actions in limited_keys.items()},
            }))
            command = [sys.executable, "-m", "devtools.s3_key_rights", str(rights)]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT,
                cwd=Path(__file__).resolve().parents[1],  # devtools.s3_key_rights is importable from here
            )
        self._signer = AwsRequestSigner(REGION, ACCESS_KEY_ID, SECRET_ACCESS_KEY, "s3")
        try:
            self._wait_until_serving()
            created = self.request("PUT", f"/{bucket}")
            if created.status_code != 200:
                raise RuntimeError(f"the S3 server did not create the bucket: HTTP {created.status_code}")
        except BaseException:
            self.close()
            raise

    def _wait_until_serving(self) -> None:
        wait_until_listening(self.process, self.port, self.log_path, "the S3 server")

    def environ(self, as_key: str = "", **overrides: str) -> dict[str, str]:
        """The environment a user of this bucket would set (the AWS SDKs' names for the keys).

        ``as_key`` names one of the ``limited_keys``; the default is the bucket owner's key.
        """
        access_key_id, secret = self.limited[as_key] if as_key else (ACCESS_KEY_ID, SECRET_ACCESS_KEY)
        env = {
            "VSE_FOLEY_S3_ENDPOINT": self.endpoint,
            "VSE_FOLEY_S3_BUCKET": self.bucket,
            "AWS_ACCESS_KEY_ID": access_key_id,
            "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_REGION": REGION,
        }
        env.update(overrides)
        return env

    # -- looking inside, as the bucket's owner ---------------------------------------------------

    def request(self, method: str, path: str, body: bytes = b"") -> requests.Response:
        return signed_request(self._signer, method, f"{self.endpoint}{path}", body)

    def keys(self, prefix: str = "") -> list[str]:
        """Every object key in the bucket (ListObjectsV2; the tests' buckets hold a few objects)."""
        query = "?list-type=2" + (f"&prefix={quote(prefix, safe='')}" if prefix else "")  # as signed
        answer = self.request("GET", f"/{self.bucket}{query}")
        if answer.status_code != 200:
            raise RuntimeError(f"listing the bucket failed: HTTP {answer.status_code}")
        return re.findall(r"<Key>([^<]+)</Key>", answer.text)

    def get(self, key: str) -> bytes | None:
        answer = self.request("GET", f"/{self.bucket}/{key}")
        return answer.content if answer.status_code == 200 else None

    def close(self) -> None:
        stop_server(self.process)
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> S3Server:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()
