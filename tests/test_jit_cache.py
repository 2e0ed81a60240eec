"""The kernels' disk cache notices a change to any kernel source (sim.engine.jit)."""

from __future__ import annotations

import os

from numba.core import caching

from sim.engine import jit
from sim.engine.kernels import step_customers
from sim.engine.resources import kernel_files


def test_the_stamp_covers_every_kernel_source():
    files = {str(p.relative_to(jit.ROOT)) for p in kernel_files()}
    assert {"agents/rules.py", "sim/engine/kernels/choice.py", "sim/engine/params.py"} <= files
    locator = step_customers._cache._impl.locator
    assert type(locator).__name__.startswith("Stamped")
    own, everything = locator.get_source_stamp()
    assert everything == jit.kernel_sources_digest()


def test_a_change_to_an_inlined_module_changes_every_kernels_stamp(tmp_path, monkeypatch):
    """Editing agents/rules.py (inlined into the step kernel) must make the step's cache stale."""
    rules = tmp_path / "rules.py"
    rules.write_text("x = 1\n")
    monkeypatch.setattr(jit, "kernel_files", lambda: [rules])
    monkeypatch.setattr(jit, "ROOT", tmp_path)
    before = jit.kernel_sources_digest()
    rules.write_text("x = 2\n")
    os.utime(rules, ns=(1, 1))  # even with the old time stamp: the size or text differs
    assert jit.kernel_sources_digest() != before


def test_other_files_keep_numbas_own_locators():
    classes = caching.CacheImpl._locator_classes
    assert [c.__name__ for c in classes[:2]] == [
        "StampedUserProvidedCacheLocator", "StampedInTreeCacheLocator"]  # fmt: skip
    assert classes[0].from_function(len, "/usr/lib/python3/some_module.py") is None
