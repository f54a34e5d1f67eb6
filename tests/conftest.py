"""Shared pytest setup.

Blender reads BLENDER_USER_RESOURCES when bpy is first imported, so the
isolated user folder every Blender test shares is chosen here, before any
test module can import bpy. Pure tests never import bpy and do not care.
"""

import os
import tempfile

os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="vse-foley-user-")
