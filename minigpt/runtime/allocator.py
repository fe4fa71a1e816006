"""Keeping freed memory for the next training step instead of handing it back to the kernel.

Every training step allocates its activations afresh (the cache the backward needs, and
the temporaries of every numpy expression) and frees them when the step ends. The C
library's ``malloc`` (glibc on Linux) gives large freed blocks back to the kernel: blocks
above its *mmap threshold* are unmapped at once, and free space at the top of the heap
above its *trim threshold* is released. The next step's arrays then start on untouched
pages, and the kernel must zero-fill each 4 KiB page the first time it is written: one page
fault per page. On the benchmarks' ``small`` shape that was about 14,000 faults per step,
a quarter to a third of the step's time (``benchmarks/page_faults.py``).

:func:`keep_freed_memory` raises both thresholds, so freed blocks stay with the process and
the next step reuses them: no faults, and the same peak memory, since a step needs that
memory again anyway. It also keeps every thread on the one heap those thresholds govern: glibc
gives a thread that allocates while another does an *arena* of its own, and hands each of
that arena's 64 MiB heaps back to the kernel the moment it is empty, whatever the trim
threshold. :func:`minigpt.train.data_parallel_grads`'s second thread took 8,570 page faults
per step at the benchmarks' ``medium`` shape that way, and none with one arena. It changes a setting of the whole process, so minigpt never calls it
on import or inside a library function; the ``minigpt`` command calls it for its own
process, and a script can call it once at its start. The same effect, without code, comes
from the environment variables ``MALLOC_MMAP_THRESHOLD_=33554432`` and
``MALLOC_TRIM_THRESHOLD_=1073741824`` and ``MALLOC_ARENA_MAX=1`` set before Python starts.
"""

from __future__ import annotations

import ctypes
import platform

# mallopt's parameter numbers, from glibc's <malloc.h>.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
# glibc's largest mmap threshold on 64-bit systems (4 MiB * sizeof(long)): blocks below it
# come from the heap and are reused; larger ones are still mapped and unmapped each time.
MMAP_THRESHOLD = 32 * 2**20
# Free memory at the top of the heap is returned to the kernel only beyond this.
TRIM_THRESHOLD = 2**30
# One arena: threads allocate from the main heap too (a lock per allocation; a training
# step makes a few hundred), instead of from arenas whose emptied heaps are unmapped.
ARENA_MAX = 1


def keep_freed_memory() -> bool:
    """Ask glibc's ``malloc`` to keep freed memory for reuse (the whole process, from now on).

    Returns
    -------
    bool
        True if the settings were applied; False where they do not exist (a C library
        other than glibc: macOS, Windows, musl), in which case nothing changes.

    Notes
    -----
    Calls ``mallopt(M_MMAP_THRESHOLD, 32 MiB)``, ``mallopt(M_TRIM_THRESHOLD, 1 GiB)`` and
    ``mallopt(M_ARENA_MAX, 1)``.
    Setting either turns off glibc's own adjustment of the thresholds, which starts them at
    128 KiB and raises them as large blocks are freed; for a loop that allocates and frees
    the same large arrays every step, the fixed, high values keep them all in the heap. The
    arena limit applies to threads that allocate for the first time after the call, so call
    it at the start of the program.

    Examples
    --------
    >>> isinstance(keep_freed_memory(), bool)
    True
    """
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    ok_mmap = libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    ok_trim = libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    ok_arena = libc.mallopt(M_ARENA_MAX, ARENA_MAX)
    return bool(ok_mmap and ok_trim and ok_arena)
