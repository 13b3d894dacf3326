"""Keep a security server's memory flat when large messages pass through it.

A message of several MiB is held in a few buffers of that size while it is signed, encrypted
and logged. glibc's allocator raises its mmap threshold to the size of the largest buffer it
has freed, so later buffers of that size come from the heap instead of fresh mappings, and
every thread's arena keeps its high-water mark: after a burst of concurrent 5 MiB messages a
server measured (make bench) held 1.6–2.3 GB it no longer used. A fixed threshold sends every
buffer of 1 MiB or more to its own mapping, returned to the system when freed, and two arenas
bound what the threads can keep. Small allocations (every ordinary query) are unaffected.

Elsewhere than glibc (musl, macOS) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from typing import Final

import structlog

log = structlog.get_logger(__name__)

_M_MMAP_THRESHOLD: Final = -3  # glibc <malloc.h>
_M_ARENA_MAX: Final = -8
LARGE_BUFFER_BYTES: Final = 1 << 20
ARENAS: Final = 2


def return_large_buffers_to_the_system(threshold: int = LARGE_BUFFER_BYTES,
                                       arenas: int = ARENAS) -> bool:
    """Set glibc's mmap threshold and arena limit; False where that is not possible."""
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    done = bool(mallopt(_M_MMAP_THRESHOLD, threshold)) and bool(mallopt(_M_ARENA_MAX, arenas))
    log.debug("heap.tuned", mmap_threshold=threshold, arenas=arenas, applied=done)
    return done
