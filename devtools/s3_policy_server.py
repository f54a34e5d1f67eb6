"""A real S3-compatible server that enforces per-key IAM policies on 127.0.0.1: moto's server mode.

nanio (``devtools/s3_server.py``) verifies SigV4 but lets every key it knows do everything
(nanio 0.1.7: ``auth/credentials.py`` maps access key -> secret and nothing else; the
verified principal is never looked at again), so "a key that may read but not write" cannot
be played on it. moto's server, once its authentication is switched on, checks the header
signature of every request against the IAM user's secret and evaluates that user's IAM
policy documents for the S3 action (``moto/core/authorization.py``,
``moto/iam/access_control.py``): ``AccessDenied`` as AWS S3 answers it.

What moto cannot do in that mode is verify a *presigned* URL: it reads the credential
from the Authorization header only and answers a query-signed request with HTTP 500. So
this server is for what is header-signed (Test Connection's write probe and the read check
after it, the clip upload's PUT, the DELETE); presigned links stay on nanio.

The bucket, the users, their policies and access keys are made while moto's authentication
is still off; then ``POST /moto-api/reset-auth`` with ``0`` switches it on for every later
request (what moto's own ``set_initial_no_auth_action_count`` does in server mode; the
environment variable ``INITIAL_NO_AUTH_ACTION_COUNT`` sets the same count at start-up).
Test-only (requirements/dev.txt), never bundled.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import requests
from aws_request_signer import AwsRequestSigner

from devtools.s3_server import BUCKET, REGION, _free_port, signed_request, stop_server, wait_until_listening

#: The keys the tests use: name -> the S3 actions its policy allows on the bucket and its objects.
READ_ONLY = ("s3:GetObject", "s3:ListBucket")
WRITE_NO_DELETE = ("s3:GetObject", "s3:ListBucket", "s3:PutObject")
READ_WRITE = ("s3:GetObject", "s3:ListBucket", "s3:PutObject", "s3:DeleteObject")
NOTHING = ("s3:GetBucketLocation",)  # a policy that allows nothing the host does
DEFAULT_KEYS: Mapping[str, Sequence[str]] = {
    "read-only": READ_ONLY,
    "write-no-delete": WRITE_NO_DELETE,
    "read-write": READ_WRITE,
    "no-access": NOTHING,
}
_OWNER = "bucket-owner"
_SETUP_KEY = ("setup", "setup")  # authentication is off while setting up: any key is taken


class S3PolicyServer:
    """``python -m moto.server`` on a free loopback port: one bucket, one IAM user per key."""

    def __init__(self, keys: Mapping[str, Sequence[str]] = DEFAULT_KEYS, bucket: str = BUCKET) -> None:
        self.bucket = bucket
        self.port = _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(tempfile.mkstemp(prefix="vse-foley-moto-", suffix=".log")[1])
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                env=dict(os.environ, TEST_SERVER_MODE="false"), stdout=log, stderr=subprocess.STDOUT,
            )
        self.credentials: dict[str, tuple[str, str]] = {}
        try:
            self._wait_until_serving()
            self._set_up({**keys, _OWNER: ("s3:*",)})
        except BaseException:
            self.close()
            raise
        self._owner = AwsRequestSigner(REGION, *self.credentials[_OWNER], "s3")

    def _wait_until_serving(self) -> None:
        wait_until_listening(self.process, self.port, self.log_path, "moto's server")

    def _set_up(self, keys: Mapping[str, Sequence[str]]) -> None:
        import boto3  # type: ignore[import-untyped]  # moto's own dependency; only the set-up speaks IAM

        client: dict[str, Any] = {
            "endpoint_url": self.endpoint, "region_name": REGION,
            "aws_access_key_id": _SETUP_KEY[0], "aws_secret_access_key": _SETUP_KEY[1],
        }
        boto3.client("s3", **client).create_bucket(
            Bucket=self.bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        iam = boto3.client("iam", **client)
        resources = [f"arn:aws:s3:::{self.bucket}", f"arn:aws:s3:::{self.bucket}/*"]
        for name, actions in keys.items():
            iam.create_user(UserName=name)
            policy = {"Version": "2012-10-17",
                      "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": resources}]}
            iam.put_user_policy(UserName=name, PolicyName=f"{name}-on-{self.bucket}",
                                PolicyDocument=json.dumps(policy))
            made = iam.create_access_key(UserName=name)["AccessKey"]
            self.credentials[name] = (made["AccessKeyId"], made["SecretAccessKey"])
        switched = requests.post(f"{self.endpoint}/moto-api/reset-auth", data=b"0", timeout=10)
        if switched.status_code != 200:
            raise RuntimeError(f"moto did not switch its authentication on: HTTP {switched.status_code}")

    def environ(self, key: str, **overrides: str) -> dict[str, str]:
        """The environment a user holding the key named ``key`` would set."""
        access_key_id, secret = self.credentials[key]
        env = {
            "VSE_FOLEY_S3_ENDPOINT": self.endpoint,
            "VSE_FOLEY_S3_BUCKET": self.bucket,
            "AWS_ACCESS_KEY_ID": access_key_id,
            "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_REGION": REGION,
        }
        env.update(overrides)
        return env

    def secret(self, key: str) -> str:
        return self.credentials[key][1]

    # -- looking inside, as the bucket's owner (a key whose policy allows s3:*) ---------------------

    def request(self, method: str, path: str, body: bytes = b"") -> requests.Response:
        return signed_request(self._owner, method, f"{self.endpoint}{path}", body)

    def keys(self, prefix: str = "") -> list[str]:
        """Every object key under ``prefix`` (ListObjectsV2; the tests' prefixes hold a few objects)."""
        answer = self.request("GET", f"/{self.bucket}?list-type=2")
        if answer.status_code != 200:
            raise RuntimeError(f"listing the bucket failed: HTTP {answer.status_code}")
        return [key for key in re.findall(r"<Key>([^<]+)</Key>", answer.text) if key.startswith(prefix)]

    def close(self) -> None:
        stop_server(self.process)
        self.log_path.unlink(missing_ok=True)

    def __enter__(self) -> S3PolicyServer:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()
