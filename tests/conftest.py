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
