"""Nothing a config says is executed: each attack vector, from a scenario file and from the
command line, is refused in one line with exit code 2, and the file it would write is not
written, nor any run folder."""

from __future__ import annotations

import pytest
from clitools import cli
from hydra import compose, initialize_config_dir

from sim import ConfigError, load_config
from sim.config import CONF_DIR, register_resolvers
from sim.config.safety import ALLOWED_TARGETS, check_config

#: (name, scenario-file body under ``hydra:``, command-line overrides); each writes PWNED.
VECTORS = {
    "write_text": (
        """  callbacks:
    x:
      _target_: pathlib.Path.write_text
      _args_: [{_target_: pathlib.Path, _args_: ["PWNED"]}, "print('code')\\n"]""",
        [
            "+hydra.callbacks.x._target_=pathlib.Path.write_text",
            "+hydra.callbacks.x._args_=[{_target_: pathlib.Path, _args_: [PWNED]}, x]",
        ],
    ),
    "open": (
        """  callbacks:
    x:
      _target_: builtins.open
      file: PWNED
      mode: w""",
        [
            "+hydra.callbacks.x._target_=builtins.open",
            "+hydra.callbacks.x.file=PWNED",
            "+hydra.callbacks.x.mode=w",
        ],
    ),
    "copyfile": (
        """  callbacks:
    x:
      _target_: shutil.copyfile
      src: /etc/hostname
      dst: PWNED""",
        [
            "+hydra.callbacks.x._target_=shutil.copyfile",
            "+hydra.callbacks.x.src=/etc/hostname",
            "+hydra.callbacks.x.dst=PWNED",
        ],
    ),
    "mkdir": (
        """  callbacks:
    x:
      _target_: os.mkdir
      path: PWNED""",
        ["+hydra.callbacks.x._target_=os.mkdir", "+hydra.callbacks.x.path=PWNED"],
    ),
    "symlink": (
        """  callbacks:
    x:
      _target_: os.symlink
      src: /etc/hostname
      dst: PWNED""",
        [
            "+hydra.callbacks.x._target_=os.symlink",
            "+hydra.callbacks.x.src=/etc/hostname",
            "+hydra.callbacks.x.dst=PWNED",
        ],
    ),
    "system": (
        """  callbacks:
    x:
      _target_: os.system
      command: touch PWNED""",
        ["+hydra.callbacks.x._target_=os.system", "+hydra.callbacks.x.command='touch PWNED'"],
    ),
    "launcher": (
        """  launcher:
    _target_: os.mkdir
    path: PWNED""",
        ["hydra.launcher._target_=os.mkdir", "+hydra.launcher.path=PWNED"],
    ),
    "logging_class": (
        """  job_logging:
    handlers:
      console:
        class: os.mkdir
        path: PWNED""",
        [
            "hydra.job_logging.handlers.console.class=os.mkdir",
            "+hydra.job_logging.handlers.console.path=PWNED",
        ],
    ),
    "logging_factory": (
        """  job_logging:
    formatters:
      x:
        (): os.mkdir
        path: PWNED""",
        ["+hydra.job_logging.formatters.x={'()': os.mkdir, path: PWNED}"],
    ),
    "logging_file": (
        """  job_logging:
    handlers:
      file:
        filename: PWNED""",
        ["hydra.job_logging.handlers.file.filename=PWNED"],
    ),
    "env": (
        """  job:
    env_set:
      PYTHONSTARTUP: PWNED""",
        ["+hydra.job.env_set.PYTHONSTARTUP=PWNED"],
    ),
}


def _refused(proc, tmp_path, wanted: str = "") -> str:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not (tmp_path / "PWNED").exists()
    assert not (tmp_path / "run").exists() and not (tmp_path / "sweep").exists()
    assert wanted in lines[0]
    return lines[0]


@pytest.mark.parametrize("name", VECTORS)
def test_vector_in_a_scenario_file_is_refused(tmp_path, name):
    body, _ = VECTORS[name]
    (tmp_path / "extra" / "scenario").mkdir(parents=True)
    (tmp_path / "extra" / "scenario" / "evil.yaml").write_text(
        f"# @package _global_\nscenario:\n  name: evil\nhydra:\n{body}\n"
    )
    proc = cli(tmp_path, "-cd", "extra", "scenario=evil", "market.customers=500", "sim.steps=3",
               "hydra.run.dir=run")  # fmt: skip
    line = _refused(proc, tmp_path)
    assert line.startswith("journeysim: error: ")


@pytest.mark.parametrize("name", VECTORS)
def test_vector_on_the_command_line_is_refused(tmp_path, name):
    _, overrides = VECTORS[name]
    proc = cli(tmp_path, *overrides, "market.customers=500", "sim.steps=3", "hydra.run.dir=run")
    _refused(proc, tmp_path, "hydra.")


@pytest.mark.parametrize("name", ["write_text", "mkdir", "logging_class"])
def test_vector_with_another_config_name_or_path_is_refused(tmp_path, name):
    _, overrides = VECTORS[name]
    proc = cli(tmp_path, "-cn", "config", *overrides, "hydra.run.dir=run")
    _refused(proc, tmp_path)
    proc = cli(tmp_path, "-cp", str(CONF_DIR), *overrides, "hydra.run.dir=run")
    _refused(proc, tmp_path)


def test_vector_in_a_custom_primary_config_is_refused(tmp_path):
    import shutil

    conf = tmp_path / "myconf"
    shutil.copytree(CONF_DIR, conf)
    evil = (
        "  callbacks:\n    x:\n      _target_: pathlib.Path.write_text\n"
        '      _args_: [{_target_: pathlib.Path, _args_: ["PWNED"]}, "code"]\n'
    )
    text = (conf / "config.yaml").read_text().replace("  callbacks:\n", evil, 1)
    assert "PWNED" in text
    (conf / "evil.yaml").write_text(text)
    proc = cli(tmp_path, "-cp", "myconf", "-cn", "evil", "hydra.run.dir=run")
    _refused(proc, tmp_path, "_target_=pathlib.Path.write_text")


def test_vector_in_an_experiment_file_on_the_search_path_is_refused(tmp_path):
    body, _ = VECTORS["mkdir"]
    extra = tmp_path / "extra" / "experiment"
    extra.mkdir(parents=True)
    (extra / "evil.yaml").write_text(f"# @package _global_\nhydra:\n{body}\n")
    proc = cli(tmp_path, f"hydra.searchpath=[file://{tmp_path / 'extra'}]", "+experiment=evil",
               "hydra.run.dir=run")  # fmt: skip
    _refused(proc, tmp_path, "os.mkdir")


def test_vector_in_one_job_of_a_sweep_stops_before_any_run(tmp_path):
    proc = cli(tmp_path, "-m", "+hydra.job.env_set.PYTHONSTARTUP=a,PWNED", "market.customers=500",
               "sim.steps=3", "hydra.sweep.dir=sweep")  # fmt: skip
    _refused(proc, tmp_path, "env_set.PYTHONSTARTUP")


def test_pkg_search_path_does_not_import_the_package(tmp_path):
    pkg = tmp_path / "evilpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("open('PWNED', 'w').write('imported')\n")
    proc = cli(tmp_path, "hydra.searchpath=[pkg://evilpkg]", "hydra.run.dir=run",
               env={"PYTHONPATH": str(tmp_path)})  # fmt: skip
    _refused(proc, tmp_path, "pkg://evilpkg")


def test_experimental_rerun_is_refused(tmp_path):
    proc = cli(tmp_path, "--experimental-rerun", "x.pickle")
    _refused(proc, tmp_path, "--experimental-rerun")


def test_ray_runtime_env_is_refused(tmp_path):
    proc = cli(tmp_path, "hydra/launcher=ray_local",
               "+hydra.launcher.ray.init.runtime_env={pip: [evil]}", "hydra.run.dir=run")  # fmt: skip
    _refused(proc, tmp_path, "runtime_env")


def test_the_allowed_targets_still_run(tmp_path):
    proc = cli(tmp_path, "-m", "hydra/launcher=laptop", "hydra.launcher.n_jobs=1", "seed=0,1",
               "market.customers=500", "sim.steps=3", "hydra.sweep.dir=sweep")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "sweep" / "summary.parquet").is_file()


# -- in process: the Python API and Hydra's own composition are guarded too -----------------
def test_load_config_refuses_a_target_anywhere():
    with pytest.raises(ConfigError, match="sweep.x._target_=os.system: not an allowed target"):
        load_config(["+sweep={x: {_target_: os.system}}"])


def test_hydra_composition_itself_is_guarded():
    """A config Hydra composes on its own (as ``hydra.main`` does) is checked in Hydra."""
    register_resolvers()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
        with pytest.raises(ConfigError, match="os.mkdir"):
            compose("config", overrides=["+hydra.callbacks.x._target_=os.mkdir"],
                    return_hydra_config=True)  # fmt: skip


def test_check_config_accepts_the_shipped_config_and_only_allowed_targets():
    register_resolvers()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
        for launcher in ("basic", "laptop", "ray_local", "ray_cluster"):
            cfg = compose("config", overrides=[f"hydra/launcher={launcher}"],
                          return_hydra_config=True)  # fmt: skip
            check_config(cfg)
            assert cfg.hydra.launcher._target_ in ALLOWED_TARGETS
