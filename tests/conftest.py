"""Shared pytest setup.

Blender reads BLENDER_USER_RESOURCES when bpy is first imported, so the
isolated user folder every Blender test shares is chosen here, before any
test module can import bpy. Pure tests never import bpy and do not care.
"""

import os
import tempfile

os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="vse-foley-user-")


import pytest


@pytest.fixture(scope="session")
def s3_server():
    """A real S3-compatible server (nanio, verifying SigV4) on 127.0.0.1 with one private bucket."""
    from devtools.s3_server import S3Server

    with S3Server() as server:
        yield server


@pytest.fixture(scope="session")
def s3_policy_server():
    """A real S3-compatible server enforcing per-key IAM policies (moto, header-signed requests only)."""
    from devtools.s3_policy_server import S3PolicyServer

    with S3PolicyServer() as server:
        yield server


# -- ending the test process ------------------------------------------------------------------------
# With the bpy module loaded, the process can hang in Blender's C++ teardown after every test has
# passed and pytest has reported (seen after a fal.ai movie answer's sound track was decoded with
# ``aud`` on a worker thread of the installed extension; a real Blender quits through WM_exit
# instead). Once pytest has written its summary the process ends at once with pytest's status.
_EXIT_STATUS: list[int] = []


def pytest_sessionfinish(session: object, exitstatus: int) -> None:
    _EXIT_STATUS.append(int(exitstatus))


def pytest_unconfigure(config: object) -> None:
    import sys

    if "bpy" in sys.modules and _EXIT_STATUS:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_EXIT_STATUS[-1])
