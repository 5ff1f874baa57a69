"""How many cores this process may use, for the work that spreads over them."""

from __future__ import annotations

import os


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity where the OS reports one,
    else 1 (there, the callers keep to one process or thread, as is safe everywhere)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
