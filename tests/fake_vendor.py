"""A vendor that exists only in the tests (issue 12's acceptance): its ``VendorSpec``, one
provider, and a loopback server speaking its tiny protocol.

Nothing in the product knows it: the tests register it with ``providers.register_vendor``
and show that the preferences, readiness, Test Connection and the CLI pick it up.
``build(package)`` makes it from a given copy of the extension (the checkout's
``vse_foley`` in pure tests, the installed ``bl_ext...vse_foley`` inside Blender).

Protocol: ``GET /v1/tasks/<id>`` with ``Authorization: Bearer <key>`` answers 401 for any
other key than ``GOOD_KEY`` and 404 for a task it does not know (every task).
"""

from __future__ import annotations

import importlib
import json
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

VENDOR_ID = "acme"
LABEL = "Acme Audio"
PROVIDER_ID = "acme.sfx"
KEY_PREF = "acme_api_key"
KEY_LABEL = "Acme Audio API key"
KEY_ENV = "ACME_AUDIO_KEY"
URL_ENV = "VSE_FOLEY_ACME_URL"
GOOD_KEY = "acme-good-key-4711"


@dataclass(frozen=True)
class FakeVendor:
    spec: Any  # the package's VendorSpec
    info: Any  # its ProviderInfo
    factory: Any  # settings -> Provider

    def register(self, package: str = "vse_foley") -> None:
        importlib.import_module(f"{package}.providers").register_vendor(
            self.spec, [self.info], {PROVIDER_ID: self.factory})


def build(package: str = "vse_foley") -> FakeVendor:
    """The fake vendor made of ``package``'s own classes."""
    base = importlib.import_module(f"{package}.providers.base")
    errors = importlib.import_module(f"{package}.providers.errors")
    vendor_spec = importlib.import_module(f"{package}.providers.vendor_spec")

    spec = vendor_spec.VendorSpec(
        id=VENDOR_ID,
        label=LABEL,
        credentials=(vendor_spec.Credential("api_key", KEY_PREF, KEY_ENV, KEY_LABEL),),
        url_env=URL_ENV,
        regions=(vendor_spec.Region("eu", "Europe", "https://eu.acme.example"),
                 vendor_spec.Region("us", "United States", "https://us.acme.example")),
        limits=base.AccountLimits(LABEL, concurrency=4, submits_per_minute=12.0),
        tasks_note="Acme documents 4.",
        submits_note="Acme documents 12.",
        probe_provider=PROVIDER_ID,
        credentials_hint="Keys are on the Acme dashboard.",
    )
    info = base.ProviderInfo(
        id=PROVIDER_ID,
        label="Acme SFX",
        vendor=VENDOR_ID,
        account=VENDOR_ID,
        description="Sound effects from a prompt (a vendor only the tests know).",
        input="text",
        fields=(base.FieldSpec("prompt", "Prompt", base.FieldKind.TEXT, "What should be heard.", default="",
                               max_length=100, required=True),),
        min_seconds=1.0,
        max_seconds=10.0,
        takes_seed=False,
        default_concurrency=4,
    )

    class AcmeSfx(base.Provider):  # type: ignore[misc, name-defined]
        """Only what Test Connection uses is real: ``poll`` over HTTP with the key."""

        def __init__(self, settings: Any) -> None:
            self.vendor = settings.vendor(VENDOR_ID)

        def poll(self, task: Any) -> Any:
            (key,) = self.vendor.require("api_key")
            request = urllib.request.Request(f"{self.vendor.base_url}/v1/tasks/{task.task_id}",
                                             headers={"Authorization": f"Bearer {key}"})
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    body = json.loads(response.read() or b"{}")
            except urllib.error.HTTPError as error:
                if error.code == 401:
                    raise errors.AuthError(f"{LABEL} rejected the key. Check {KEY_ENV} or the {KEY_LABEL} "
                                           "in the add-on Preferences.", vendor_code=401) from None
                raise errors.TaskFailedError(f"{LABEL} knows no task {task.task_id}.",
                                             vendor_code=error.code) from None
            return base.TaskStatus(base.TaskState.RUNNING, message=str(body))

        def validate(self, request: Any) -> None:
            self.vendor.require("api_key")

        def upload_clip(self, request: Any, cancel: Any = None) -> None:
            return None

        def submit(self, request: Any, clip_url: Any) -> Any:
            raise errors.FoleyError("The test vendor generates nothing.")

        def download(self, status: Any, dest_stem: Any) -> Any:
            raise errors.FoleyError("The test vendor has nothing to download.")

    AcmeSfx.info = info
    return FakeVendor(spec=spec, info=info, factory=AcmeSfx)


class FakeVendorServer:
    """The loopback server (a thread; ``with`` starts and stops it); ``paths`` lists what it was asked."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.lock = threading.Lock()
        self.asked = threading.Event()  # set by the first request
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with outer.lock:
                    outer.paths.append(self.path)
                outer.asked.set()
                good = self.headers.get("Authorization") == f"Bearer {GOOD_KEY}"
                status, body = (404, {"error": "no such task"}) if good else (401, {"error": "bad key"})
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True, name="fake-vendor")

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeVendorServer:
        self.thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
