"""The C allocator's settings for a ``newsdesk`` process, applied once at start-up.

glibc's ``malloc`` gives each thread that allocates its own arena, up to
eight per core, and an arena keeps the memory freed in it for reuse instead
of giving it back. Newsdesk's threads (the database connection's, an
import's read-ahead, grouping in a worker) each allocate a batch's worth of
rows and text, so each held its own high-water mark: an import of 10,000
articles peaked 10-15% higher (``python -m bench memory``, BENCHMARKS.md).
Two arenas is the usual cap for threaded Python services (the threads
mostly run one at a time under Python's lock, so they rarely wait for an
arena); ``MALLOC_ARENA_MAX`` in the environment, when set, wins. Other C
libraries (musl, macOS) have no arenas: nothing is done there.
"""

from __future__ import annotations

import os
import sys

ARENAS = 2
_M_ARENA_MAX = -8  # mallopt() parameter number, from glibc's malloc.h


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's malloc arenas (before threads start); True when it took effect."""
    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc: no arenas to cap
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_ARENA_MAX, arenas))
