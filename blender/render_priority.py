"""Clip renders run below the editor's Blender in CPU priority, so they never take its time.

A clip render is a whole Blender; measured on a 2-core machine it keeps both cores busy
(colour management, the sequencer and FFmpeg's encoder all run threads), even though the
render budget (``core/render_ahead.py``) counts it as one processor. At the same priority it
would compete with the editor's own Blender for every frame of playback. One step down
(``nice 10`` on Linux and macOS, "below normal" on Windows) lets the operating system give
the editor's Blender the processors whenever it wants them, and the renders everything it
leaves, so on an idle machine a render is as fast as before.

The priority is set when the process starts, for the whole process: Linux keeps a nice value
per thread and new threads inherit their creator's, so lowering a running Blender's main
thread would leave the threads it had already started at full priority. Hence the ``nice``
command in front (it sets the value, then becomes the command: same process id) rather than
``os.setpriority`` after the start, and no ``preexec_fn`` (unsafe in a process with threads).

No bpy: runs on worker threads.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

#: how far below the editor's Blender a render runs (POSIX nice increment; 19 is the lowest)
NICE_INCREMENT = 10


def lowered(command: list[str]) -> tuple[list[str], int]:
    """``command`` to start at a lower CPU priority, and the ``creationflags`` to start it with.

    Where there is no way (no ``nice`` on the PATH), the command is unchanged: a render at the
    same priority is slower for the editor, not wrong.
    """
    if sys.platform == "win32":
        return command, int(getattr(subprocess, "BELOW_NORMAL_PRIORITY_CLASS", 0))
    nice = shutil.which("nice")
    if nice is None:
        return command, 0
    return [nice, "-n", str(NICE_INCREMENT), *command], 0
