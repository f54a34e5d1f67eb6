"""One user action per module; ``classes`` is the registration order.

These modules do not use ``from __future__ import annotations``: Blender reads a registered
class's properties with ``typing.get_type_hints``, which would compile every string annotation
at each first enable (``tests/blender/test_registration_work.py``).
"""

from . import batch, generate, jobs, regenerate, report, takes, test_connection, wait

classes = (
    *report.classes,
    *generate.classes,
    *wait.classes,
    *jobs.classes,
    *batch.classes,
    *takes.classes,
    *regenerate.classes,
    *test_connection.classes,
)
