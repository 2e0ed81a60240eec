"""Configs composed before (sim.config.memo): same config, warnings said, Hydra skipped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import pytest
from omegaconf import OmegaConf

from sim import load_config
from sim.config import ConfigError, ConfigWarning, memo
from sim.config.safety import ROOT

OVERRIDES = ["market.customers=1000", "sim.steps=5", "sim.burn_in=3"]


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    """A cache folder of the test's own."""
    monkeypatch.setenv("JOURNEYSIM_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("JOURNEYSIM_NO_CACHE", raising=False)
    return tmp_path / "configs"


def _entries(folder):
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def test_a_memoised_config_is_the_composed_one_and_skips_hydra(cache):
    first = OmegaConf.to_container(load_config(OVERRIDES))
    assert len(_entries(cache)) == 1
    again = OmegaConf.to_container(load_config(OVERRIDES))
    assert again == first
    # a new process reads it without importing Hydra at all
    code = (
        "import json, sys; from omegaconf import OmegaConf; from sim import load_config;"
        f"c = load_config({OVERRIDES!r});"
        "print(json.dumps({'hydra': 'hydra' in sys.modules, 'cfg': OmegaConf.to_container(c)}))"
    )
    env = {**os.environ, "JOURNEYSIM_CACHE_DIR": str(cache.parent)}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen == {"hydra": False, "cfg": first}


def test_warnings_are_said_again_from_a_memoised_config(cache):
    late = [*OVERRIDES, "scenario=service_outage"]  # its outage starts after step 5
    with pytest.warns(ConfigWarning, match="never happens") as first:
        load_config(late)
    with pytest.warns(ConfigWarning, match="never happens") as again:
        load_config(late)
    assert [str(w.message) for w in again if w.category is ConfigWarning] == [
        str(w.message) for w in first if w.category is ConfigWarning
    ]


def test_a_corrupt_or_tampered_entry_is_composed_again(cache):
    good = OmegaConf.to_container(load_config(OVERRIDES))
    (entry,) = _entries(cache)
    entry.write_text(entry.read_text()[:50])  # truncated
    assert OmegaConf.to_container(load_config(OVERRIDES)) == good
    body = json.loads(entry.read_text())
    body["config"]["market"]["customers"] = 7  # changed without its digest
    entry.write_text(json.dumps(body))
    assert OmegaConf.to_container(load_config(OVERRIDES))["market"]["customers"] == 1000


def test_executable_content_in_an_entry_is_refused(cache):
    load_config(OVERRIDES)
    (entry,) = _entries(cache)
    body = json.loads(entry.read_text())
    body["config"]["engine"]["_target_"] = "os.system"
    body["sha256"] = memo._content_digest(body["config"], body["warnings"])
    entry.write_text(json.dumps(body))
    with pytest.raises(ConfigError, match="_target_"):
        load_config(OVERRIDES)


def test_keys_follow_overrides_order_and_trust(cache):
    assert memo.key(["a=1", "b=2"], "shell") != memo.key(["b=2", "a=1"], "shell")
    assert memo.key(["a=1"], "shell") != memo.key(["a=1"], "data")
    assert memo.key(["a=1"], "shell") == memo.key(["a=1"], "shell")


def test_what_is_not_memoised(cache, monkeypatch):
    assert not memo.memoisable(["hydra.searchpath=[file:///tmp]"], True)
    assert not memo.memoisable(["+hydra/launcher=laptop"], True)
    assert not memo.memoisable(["seed=1"], default_source=False)
    assert memo.memoisable(["seed=1"], True)
    monkeypatch.setenv("JOURNEYSIM_NO_CACHE", "1")
    assert not memo.memoisable(["seed=1"], True)
    load_config(OVERRIDES)
    assert _entries(cache) == []


def test_an_edge_list_config_is_composed_every_time(cache, tmp_path):
    ties = tmp_path / "ties.csv"
    ties.write_text("source,target\n0,1\n1,2\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        load_config(["market.customers=3", "network=edgelist", f"network.path={ties}"])
    assert _entries(cache) == []  # the file's ties may change under the same overrides


def test_cache_clear_removes_memoised_configs(cache):
    from sim.cli.cache import command

    load_config(OVERRIDES)
    assert memo.count() == 1
    assert command(["clear"]) == 0
    assert memo.count() == 0


def test_eviction_keeps_the_most_recently_used(tmp_path):
    for k in range(5):
        path = tmp_path / f"{k}.json"
        path.write_text("{}")
        os.utime(path, (k, k))
    assert memo._evict(tmp_path, cap=3) == 2
    assert sorted(p.stem for p in tmp_path.glob("*.json")) == ["2", "3", "4"]
