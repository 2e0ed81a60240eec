"""Large arrays straight from the operating system, and back to it when freed (glibc).

glibc's malloc serves a request of at least its mmap threshold (128 KiB at first) with
fresh pages of its own mapping, and unmaps them when the array is freed. But the first
time such an array is freed it raises the threshold to that array's size (up to 32 MiB),
so that later arrays below that size come from its heap, whose freed holes stay resident.
Building a market frees arrays of N to 8 N bytes (draws, sorts, the network's buckets), so
the customers' columns, the tallies and the records then come from the heap: at 10^6
customers and 365 steps, the peak was 2.4 B per customer higher for one cell and 6.7 B
higher for four segments (``python experiments/benchmark.py --cells``). A fixed threshold
keeps large arrays mapped; the run's speed does not change (one cell, 1M x 365: 17.6 s both
ways). journeysim fixes it once, when it builds its first market, unless the environment
sets ``MALLOC_MMAP_THRESHOLD_`` (glibc's own setting, read at start-up). Elsewhere (macOS,
musl) nothing changes.
"""

from __future__ import annotations

import ctypes
import functools
import os

#: ``mallopt``'s parameter number for the mmap threshold (glibc's malloc.h).
M_MMAP_THRESHOLD = -3
#: Arrays of this size or more are mapped from the operating system (half a megabyte: a
#: million customers' one-byte column is two of them; small arrays stay in the heap).
MMAP_THRESHOLD = 512 * 1024


@functools.cache
def map_large_arrays() -> bool:
    """Fix glibc's mmap threshold at ``MMAP_THRESHOLD`` (once); True if it did."""
    if os.environ.get("MALLOC_MMAP_THRESHOLD_"):
        return False  # the user's own setting
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # no C library to ask, or not glibc's
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
