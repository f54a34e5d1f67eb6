"""nanio with keys that may not do everything: for the one case moto's server cannot play.

A key that may write and read but not delete needs a server that serves the probe's
*presigned* read-back (moto answers those with HTTP 500 when its authentication is on, see
devtools/s3_policy_server.py) and refuses the DELETE after it. nanio verifies presigned
links, but every key it knows may do everything. So this runs nanio's own application
(``nanio.app.build_app``: its SigV4 check, routes and storage, unchanged) with several keys
and one layer more, *inside* nanio's signature check: after nanio has verified who signed a
request (``scope["nanio.principal"]``), an action that key is refused is answered as S3
answers it, ``403 AccessDenied``. The refusal is ours; the signature check, the presigned
links and everything a request that passes does are nanio's. Test-only, never bundled.

Run as ``python -m devtools.s3_key_rights RIGHTS.json``; devtools/s3_server.py starts it.
RIGHTS.json: {"data_dir", "port", "region", "keys": {access key id: secret},
"refused": {access key id: ["s3:DeleteObject", ...]}}.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from nanio.app import build_app  # type: ignore[import-untyped]
from nanio.auth.credentials import StaticCredentialResolver  # type: ignore[import-untyped]
from nanio.config import Settings  # type: ignore[import-untyped]
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

ACCESS_DENIED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
)


def s3_action(method: str, path: str) -> str:
    """The IAM action of a path-style request (``/bucket`` or ``/bucket/key``) this server is asked."""
    has_key = "/" in path.strip("/")
    if method == "DELETE":
        return "s3:DeleteObject" if has_key else "s3:DeleteBucket"
    if method == "PUT":
        return "s3:PutObject" if has_key else "s3:CreateBucket"
    if method in ("GET", "HEAD"):
        return "s3:GetObject" if has_key else "s3:ListBucket"
    return f"s3:{method}"  # POST (multipart uploads): refused only when named so


class RefuseActions:
    """Answers 403 AccessDenied to an action refused to the key nanio verified the request was signed with."""

    def __init__(self, app: ASGIApp, *, refused: dict[str, frozenset[str]]) -> None:
        self._app = app
        self._refused = refused

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            principal = scope.get("nanio.principal", "")
            if s3_action(scope["method"], scope["path"]) in self._refused.get(principal, frozenset()):
                headers = [(b"content-type", b"application/xml"),
                           (b"content-length", str(len(ACCESS_DENIED)).encode())]
                await send({"type": "http.response.start", "status": 403, "headers": headers})
                await send({"type": "http.response.body", "body": ACCESS_DENIED})
                return
        await self._app(scope, receive, send)


def build(rights: dict[str, Any]) -> ASGIApp:
    settings = Settings(
        data_dir=Path(rights["data_dir"]).resolve(), region=rights["region"],
        credentials=StaticCredentialResolver(dict(rights["keys"])),
    )
    app = build_app(settings)
    refused = {key: frozenset(actions) for key, actions in rights["refused"].items()}
    # After nanio's own middleware (SigV4Middleware, first in the list): the principal is verified by then.
    app.user_middleware.append(Middleware(RefuseActions, refused=refused))
    return app


def main(argv: list[str]) -> None:
    import uvicorn

    rights = json.loads(Path(argv[0]).read_text())
    uvicorn.run(build(rights), host="127.0.0.1", port=int(rights["port"]), log_level="warning",
                access_log=False)


if __name__ == "__main__":
    main(sys.argv[1:])
