"""The C allocator of a long-running counter: one malloc arena, not one per thread.

glibc gives each thread that allocates its own arena (up to eight a core) and keeps what
each arena once held: with the app's worker threads, the sandbox's and the printer's, the
first hundred sales grew the resident set by some 17 MB that the process never gave back
(``python -m bench.memory``: 18.5 MB over 300 sales with the default, 8.7 MB with one
arena). Python's own allocator serves small objects under the GIL anyway, so one arena
costs no contention worth measuring. ``MALLOC_ARENA_MAX`` set by whoever starts the
cashier (a systemd unit, a technician) is kept; without glibc nothing is done.
"""

from __future__ import annotations

import ctypes
import os

M_ARENA_MAX = -8  # <malloc.h>


def one_arena() -> bool:
    """Limit glibc to one malloc arena for the threads started after this; whether it did."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS, Windows)
        return False
    return bool(mallopt(M_ARENA_MAX, 1))
