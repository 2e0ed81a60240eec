"""``journeysim cache info|clear``: status-quo snapshots and configs composed before."""

from __future__ import annotations

from sim.cli.common import error
from sim.config import memo


def command(args: list[str]) -> int:
    """``info``: where the snapshots are, how many, how big; ``clear``: remove them all."""
    from sim.engine.resources import human_bytes
    from sim.engine.snapshot import SnapshotStore, enabled

    if len(args) != 1 or args[0] not in ("info", "clear"):
        return error(f"cache {' '.join(args)}: use 'journeysim cache info' or "
                     "'journeysim cache clear'")  # fmt: skip
    store = SnapshotStore()
    if args[0] == "clear":
        removed = store.clear()
        configs = memo.clear()
        print(f"journeysim: removed {removed} snapshot(s) and {configs} memoised config(s) "
              f"from {store.folder}")  # fmt: skip
        return 0
    info = store.info()
    state = "on" if enabled() else "off (JOURNEYSIM_NO_CACHE)"
    print(f"folder:    {info.folder}  (JOURNEYSIM_CACHE_DIR)")
    print(f"snapshots: {info.snapshots}, {human_bytes(info.size)} of at most "
          f"{human_bytes(info.cap)}  (JOURNEYSIM_CACHE_MAX_GB)")  # fmt: skip
    print(f"configs:   {memo.count()} composed before, in {memo.folder()} (at most "
          f"{memo.MAX_ENTRIES})")  # fmt: skip
    print(f"cache:     {state}; a run skips it with --no-cache")
    return 0
