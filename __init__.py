"""VSE Foley: AI sound for the Video Sequence Editor, aligned to picture.

Nothing heavy happens at import: ``register()`` loads the Blender layer, and
pydantic and the vendor clients load on first use (off the main thread).
The bpy-free parts (``core``, ``providers``, ``cli``) import without Blender.
"""


def register() -> None:
    from .blender import registration

    registration.register()


def unregister() -> None:
    from .blender import registration

    registration.unregister()
