"""One user action per module; ``classes`` is the registration order."""

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
