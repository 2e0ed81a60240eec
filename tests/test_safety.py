"""Config content is data: each attack vector, from a scenario file, an experiment file, a
custom config folder and the command line, is refused in one line with exit code 2; the file
it would write is not written, nor any run folder, and no environment value is echoed."""

from __future__ import annotations

import os

import pytest
from clitools import cli
from hydra import compose, initialize_config_dir

from sim import ConfigError, load_config
from sim.config import CONF_DIR, Source, register_resolvers
from sim.config.safety import ALLOWED_TARGETS, check_argv, check_config

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


#: An environment value no output or saved file may show.
SECRET = "s3cr3t-v4lue-9731"


def _refused(proc, tmp_path, *wanted: str) -> str:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("journeysim: error: ")
    assert "Traceback" not in proc.stderr + proc.stdout
    assert SECRET not in proc.stderr + proc.stdout
    assert not (tmp_path / "PWNED").exists()
    assert not (tmp_path / "run").exists() and not (tmp_path / "sweep").exists()
    for w in wanted:
        assert w in lines[0], lines[0]
    return lines[0]


def _scenario(tmp_path, body: str, name: str = "evil") -> None:
    folder = tmp_path / "extra" / "scenario"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.yaml").write_text(body)


def _pythonpath(folder) -> str:
    """``folder`` first on the module path, keeping the path this test runs with."""
    return os.pathsep.join(p for p in (str(folder), os.environ.get("PYTHONPATH")) if p)


def _run(tmp_path, *args, env=None):
    return cli(tmp_path, *args, "market.customers=500", "sim.steps=3", "hydra.run.dir=run",
               env={"JOURNEYSIM_SECRET": SECRET, **(env or {})})  # fmt: skip


@pytest.mark.parametrize("name", VECTORS)
def test_vector_in_a_scenario_file_is_refused(tmp_path, name):
    body, _ = VECTORS[name]
    _scenario(tmp_path, f"# @package _global_\nscenario:\n  name: evil\nhydra:\n{body}\n")
    proc = _run(tmp_path, "-cd", "extra", "scenario=evil")
    _refused(proc, tmp_path, "evil.yaml", "may not configure Hydra")


@pytest.mark.parametrize("name", VECTORS)
def test_vector_on_the_command_line_is_refused(tmp_path, name):
    _, overrides = VECTORS[name]
    proc = _run(tmp_path, *overrides)
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
    _refused(proc, tmp_path, "evil.yaml", "may not configure Hydra")


def test_vector_in_an_experiment_file_on_the_search_path_is_refused(tmp_path):
    body, _ = VECTORS["mkdir"]
    extra = tmp_path / "extra" / "experiment"
    extra.mkdir(parents=True)
    (extra / "evil.yaml").write_text(f"# @package _global_\nhydra:\n{body}\n")
    proc = cli(tmp_path, f"hydra.searchpath=[file://{tmp_path / 'extra'}]", "+experiment=evil",
               "hydra.run.dir=run")  # fmt: skip
    _refused(proc, tmp_path, "evil.yaml")


def test_vector_in_one_job_of_a_sweep_stops_before_any_run(tmp_path):
    proc = cli(tmp_path, "-m", "+hydra.job.env_set.PYTHONSTARTUP=a,PWNED", "market.customers=500",
               "sim.steps=3", "hydra.sweep.dir=sweep")  # fmt: skip
    _refused(proc, tmp_path, "env_set.PYTHONSTARTUP")


# -- resolvers: refused before and after composition, wherever they come from ---------------
CREATE = "${oc.create:{_target_: builtins.open, file: PWNED, mode: w}}"
RESOLVER_FILES = {
    "create_in_hydra": f"# @package _global_\nscenario: {{name: evil}}\nhydra:\n  callbacks:\n    x: '{CREATE}'\n",
    "create_in_scenario": f"name: evil\ndescription: '{CREATE}'\n",
    "decode": "name: evil\ndescription: '${oc.decode:\"{_target_: builtins.open, file: PWNED}\"}'\n",
    "env": "name: evil\ndescription: '${oc.env:JOURNEYSIM_SECRET}'\n",
    "env_in_a_number": "# @package _global_\nscenario: {name: evil}\nbrands:\n  incumbent:\n    price: '${oc.env:JOURNEYSIM_SECRET}'\n",
    "select": "name: evil\ndescription: '${oc.select:hydra.job.name}'\n",
    "nested": "name: evil\ndescription: '${scenario.${oc.env:JOURNEYSIM_SECRET}}'\n",
    "reference_to_hydra": "name: evil\ndescription: '${hydra.job.name}'\n",
}


@pytest.mark.parametrize("name", RESOLVER_FILES)
def test_a_resolver_in_a_scenario_file_is_refused(tmp_path, name):
    _scenario(tmp_path, RESOLVER_FILES[name])
    proc = _run(tmp_path, "-cd", "extra", "scenario=evil")
    _refused(proc, tmp_path, "evil.yaml")


@pytest.mark.parametrize(
    "override",
    [
        f'+hydra.callbacks.x="{CREATE}"',
        f"scenario.description='{CREATE}'",
        "brands.incumbent.price=${oc.env:JOURNEYSIM_SECRET}",
        "scenario.description=${oc.env:JOURNEYSIM_SECRET}",
        "hydra.sweep.dir=${oc.env:JOURNEYSIM_SECRET}",
        "+scenario.x=${oc.decode:'{_target_: os.system}'}",
        "hydra.sweep.subdir=${oc.create:{a: 1}}",
    ],
)
def test_a_resolver_on_the_command_line_is_refused(tmp_path, override):
    proc = _run(tmp_path, override)
    _refused(proc, tmp_path)


def test_a_resolver_in_an_experiment_file_is_refused(tmp_path):
    extra = tmp_path / "extra" / "experiment"
    extra.mkdir(parents=True)
    (extra / "evil.yaml").write_text(
        f"# @package _global_\nscenario:\n  name: evil\n  description: '{CREATE}'\n"
    )
    proc = _run(tmp_path, "-cd", "extra", "+experiment=evil")
    _refused(proc, tmp_path, "evil.yaml")


def test_refusing_resolvers_are_in_place_even_past_the_checks():
    """Defence in depth: the resolvers themselves refuse, whoever resolves."""
    from omegaconf import OmegaConf

    register_resolvers()
    for text in ("${oc.env:JOURNEYSIM_SECRET}", CREATE, "${oc.decode:'1'}", "${oc.select:a}"):
        with pytest.raises(Exception, match="resolver not allowed"):
            OmegaConf.to_container(OmegaConf.create({"a": 1, "x": text}), resolve=True)


# -- Hydra's node, environment, search path, logging --------------------------------------------
@pytest.mark.parametrize(
    "overrides, wanted",
    [
        (["hydra.job.env_set.NUMBA_CACHE_DIR=cache"], "NUMBA_CACHE_DIR"),
        (["+hydra.job.env_set.JOURNEYSIM_RESULTS_ROOT=/"], "JOURNEYSIM_RESULTS_ROOT"),
        (["hydra.job.env_set.NUMBA_NUM_THREADS=/tmp"], "whole number"),
        (["hydra.job.name=../../x"], "hydra.job.name"),
        (["hydra.output_subdir=../../x"], "hydra.output_subdir"),
        (["hydra.job_logging.handlers.file.mode=w"], "hydra.job_logging"),
        (["hydra.job_logging.root.handlers=[console, ext://evilmod.handler]"], "hydra.job_logging"),
        (["hydra/launcher=ray_aws"], "hydra/launcher must be one of"),
        (["hydra/job_logging=evil"], "hydra/job_logging must be one of"),
        (["hydra/help=evil"], "cannot be chosen"),
        (["hydra.launcher.n_jobs={_target_: os.system}"], "plain value"),
        (["hydra.searchpath=[pkg://conf]"], "pkg://conf"),
        (["hydra.searchpath=[pkg://hydra_plugins.${oc.env:JOURNEYSIM_SECRET}]"], "searchpath"),
    ],
)
def test_hydra_settings_beyond_plain_values_are_refused(tmp_path, overrides, wanted):
    proc = _run(tmp_path, *overrides)
    _refused(proc, tmp_path, wanted)


def test_numba_cache_dir_from_a_file_is_refused(tmp_path):
    _scenario(tmp_path, "# @package _global_\nscenario: {name: evil}\nhydra:\n  job:\n"
                        "    env_set:\n      NUMBA_CACHE_DIR: cache\n")  # fmt: skip
    proc = _run(tmp_path, "-cd", "extra", "scenario=evil")
    _refused(proc, tmp_path, "may not configure Hydra")


def test_log_files_elsewhere_from_a_file_are_refused(tmp_path):
    for k, body in enumerate(
        [
            "hydra:\n  job:\n    name: ../../x\n",
            "hydra:\n  output_subdir: ../../x\n",
            "hydra:\n  job_logging:\n    handlers:\n      file:\n        mode: w\n",
            "hydra:\n  job_logging:\n    root:\n      handlers: [console, 'ext://evilmod.x']\n",
        ]
    ):
        _scenario(tmp_path, f"# @package _global_\nscenario: {{name: evil{k}}}\n{body}", f"evil{k}")
        proc = _run(tmp_path, "-cd", "extra", f"scenario=evil{k}")
        _refused(proc, tmp_path, f"evil{k}.yaml")


@pytest.mark.parametrize(
    "header_and_body",
    [
        "# @package hydra.callbacks\nx: {_target_: os.mkdir, path: PWNED}\n",
        "# @package _global_.hydra\ncallbacks: {x: {_target_: os.mkdir, path: PWNED}}\n",
        "defaults:\n  - override /hydra/launcher: ray_aws\nname: evil\n",
        "defaults:\n  - /hydra/callbacks: evil\nname: evil\n",
        "name: evil\nx: {_target_: os.mkdir, path: PWNED}\n",
        "name: evil\nx: [{_partial_: true}]\n",
    ],
)
def test_data_files_cannot_reach_hydra_by_package_defaults_or_targets(tmp_path, header_and_body):
    _scenario(tmp_path, header_and_body)
    proc = _run(tmp_path, "-cd", "extra", "scenario=evil")
    _refused(proc, tmp_path, "evil.yaml")


def test_a_hydra_group_file_in_a_data_folder_is_never_read(tmp_path):
    folder = tmp_path / "extra" / "hydra" / "launcher"
    folder.mkdir(parents=True)
    (folder / "evil.yaml").write_text("_target_: os.mkdir\npath: PWNED\n")
    proc = _run(tmp_path, "-cd", "extra", "hydra/launcher=evil")
    _refused(proc, tmp_path, "hydra/launcher must be one of")


def test_pkg_search_path_does_not_import_the_package(tmp_path):
    pkg = tmp_path / "evilpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("open('PWNED', 'w').write('imported')\n")
    proc = cli(tmp_path, "hydra.searchpath=[pkg://evilpkg]", "hydra.run.dir=run",
               env={"PYTHONPATH": _pythonpath(tmp_path)})  # fmt: skip
    _refused(proc, tmp_path, "pkg://evilpkg")


def test_a_shadowing_conf_or_experiments_package_in_the_working_directory_is_refused(tmp_path):
    for name in ("conf", "experiments"):
        pkg = tmp_path / name
        pkg.mkdir()
        (pkg / "__init__.py").write_text("open('PWNED', 'w').write('imported')\n")
    proc = cli(tmp_path, "hydra.searchpath=[pkg://conf]", "hydra.run.dir=run",
               env={"PYTHONPATH": _pythonpath(tmp_path)})  # fmt: skip
    _refused(proc, tmp_path, "pkg://conf")
    proc = cli(tmp_path, "hydra.searchpath=[pkg://experiments]", "hydra.run.dir=run",
               env={"PYTHONPATH": _pythonpath(tmp_path)})  # fmt: skip
    _refused(proc, tmp_path, "shadowed")


# -- Hydra's flags ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ("--experimental-rerun", "x.pickle"),
        ("--experimental-rerun=x.pickle",),
        ("--experimental-rer", "x.pickle"),
        ("--exp", "x.pickle"),
        ("--e", "x.pickle"),
        ("--con", "x"),
        ("--multi",),
        ("--nonsense",),
    ],
)
def test_unknown_or_abbreviated_flags_are_refused(tmp_path, args):
    (tmp_path / "x.pickle").write_bytes(b"not a pickle")
    proc = cli(tmp_path, *args)
    _refused(proc, tmp_path)


def test_check_argv_keeps_the_listed_flags():
    check_argv(["-m", "seed=0,1", "--cfg", "job", "--resolve", "-cd", "extra", "--info",
                "--config-name=config", "-p", "market", "--dry-run"])  # fmt: skip
    with pytest.raises(ConfigError, match="--experimental-rerun unpickles"):
        check_argv(["--experimental"])


def test_hydra_s_rerun_function_itself_refuses():
    import sys

    register_resolvers()
    with pytest.raises(ConfigError, match="unpickles"):
        sys.modules["hydra.main"]._get_rerun_conf("x.pickle", [])


@pytest.mark.parametrize("info", [("--info",), ("--info", "defaults"), ("--cfg", "job")])
def test_information_flags_still_work(tmp_path, info):
    proc = cli(tmp_path, *info)
    assert proc.returncode == 0, proc.stderr


# -- files are bounded ------------------------------------------------------------------------
ALIAS_BOMB = (
    "name: bomb\na: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    + "".join(
        f"{chr(99 + k)}: &{chr(99 + k)} [{','.join(['*' + chr(98 + k)] * 9)}]\n" for k in range(8)
    )
)


def test_a_yaml_alias_bomb_is_refused_at_once(tmp_path):
    import time

    _scenario(tmp_path, ALIAS_BOMB)
    start = time.perf_counter()
    proc = _run(tmp_path, "-cd", "extra", "scenario=evil")
    _refused(proc, tmp_path, "evil.yaml", "anchors and aliases")
    assert time.perf_counter() - start < 60


def test_a_huge_scenario_file_is_refused_from_its_size(tmp_path):
    _scenario(tmp_path, "name: big\ndescription: " + "x" * 3_000_000 + "\n")
    proc = _run(tmp_path, "-cd", "extra", "scenario=evil")
    _refused(proc, tmp_path, "evil.yaml", "at most 1,000,000")


def test_malformed_yaml_names_the_file_and_line(tmp_path):
    _scenario(tmp_path, "name: x\nevents: [\n  {kind: a\n")
    proc = _run(tmp_path, "-cd", "extra", "scenario=evil")
    _refused(proc, tmp_path, "evil.yaml", "line")


def test_plain_references_in_a_data_file_still_work(tmp_path):
    _scenario(tmp_path, "# @package _global_\nscenario:\n  name: ok\n  description: 'at ${seed}'\n"
                        "brands:\n  budget:\n    price: ${brands.incumbent.price}\n")  # fmt: skip
    cfg = load_config(["scenario=evil"], source=Source(config_dir=str(tmp_path / "extra")))
    assert cfg.brands.budget.price == cfg.brands.incumbent.price
    assert cfg.scenario.description == f"at {cfg.seed}"


def test_the_allowed_targets_still_run(tmp_path):
    proc = cli(tmp_path, "-m", "hydra/launcher=laptop", "hydra.launcher.n_jobs=1", "seed=0,1",
               "market.customers=500", "sim.steps=3", "hydra.sweep.dir=sweep")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "sweep" / "summary.parquet").is_file()


def test_a_key_given_twice_warns_with_both_values(tmp_path):
    proc = cli(tmp_path, "market.customers=300", "market.customers=400", "sim.steps=2",
               "hydra.run.dir=run", "--dry-run")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    warnings = [x for x in proc.stderr.splitlines() if "given twice" in x]
    assert len(warnings) == 1 and "=300" in warnings[0] and "=400" in warnings[0]


# -- in process: the Python API and Hydra's own composition are guarded too -----------------
def test_load_config_refuses_a_target_anywhere():
    with pytest.raises(ConfigError, match="sweep.x._target_: not allowed"):
        load_config(["+sweep={x: {_target_: os.system}}"])


def test_load_config_refuses_a_mapping():
    with pytest.raises(ConfigError, match="must be a list of strings"):
        load_config({"market": {"customers": 1000}})


def test_data_trust_refuses_every_hydra_key_and_resolver():
    for override in ("hydra.run.dir=x", "hydra/launcher=laptop", "market.customers=${mul:2,3}"):
        with pytest.raises(ConfigError):
            load_config([override], trust="data")
    cfg = load_config(["brands.budget.price=${brands.incumbent.price}"], trust="data")
    assert cfg.brands.budget.price == cfg.brands.incumbent.price


def test_hydra_composition_itself_is_guarded():
    """A config Hydra composes on its own (as ``hydra.main`` does) is checked in Hydra."""
    register_resolvers()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
        with pytest.raises(ConfigError, match="hydra.callbacks.x"):
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


# -- edge lists: never echoed, bounded by memory before they are read ------------------------
@pytest.mark.parametrize(
    "content",
    [
        f"a,b,{SECRET}\n0,1,1\n",
        f"0,{SECRET}\n1,2\n",
        f"root:x:0:0:{SECRET}:/root:/bin/bash\n",
        f"0,1\n2,{SECRET}\n",
    ],
)
def test_edge_list_errors_never_quote_the_file(tmp_path, content):
    path = tmp_path / "ties.csv"
    path.write_text(content)
    with pytest.raises(ConfigError) as info:
        load_config(["network.kind=edgelist", f"network.path={path}"])
    assert SECRET not in str(info.value) and "network.path" in str(info.value)


def test_an_edge_list_too_big_for_memory_is_refused_from_its_size(tmp_path, monkeypatch):
    import time

    from sim.engine import resources

    path = tmp_path / "ties.csv"
    path.write_text("".join(f"{k},{k + 1}\n" for k in range(50_000)))
    monkeypatch.setattr(resources, "available_memory", lambda: 1_000_000)  # 1 MB free
    start = time.perf_counter()
    with pytest.raises(ConfigError, match=r"lists about [\d,]+ ties .*1.0 MB available"):
        load_config(["network.kind=edgelist", f"network.path={path}"])
    assert time.perf_counter() - start < 10


# -- a property: no grammar of Hydra/OmegaConf features writes a file or echoes the environment -
from hypothesis import HealthCheck, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

MARKER = "MARKER_WRITTEN"


def _payloads(marker: str) -> list[str]:
    return [
        "${oc.env:JOURNEYSIM_SECRET}",
        "${oc.env:JOURNEYSIM_SECRET,x}",
        f"${{oc.create:{{_target_: builtins.open, file: {marker}, mode: w}}}}",
        f'${{oc.decode:"{{_target_: pathlib.Path.touch, self: {marker}}}"}}',
        "${oc.select:hydra.job.name}",
        "${oc.dict.keys:market}",
        "${scenario.${oc.env:JOURNEYSIM_SECRET}}",
        "${hydra:job.name}",
        "${now:%Y}",
        "${mul:2,3}",
        "${seed}",
        "${.name}",
        "\\${oc.env:JOURNEYSIM_SECRET}",
        "plain text",
        "3",
    ]


KEYS = [
    "scenario.description", "brands.incumbent.price", "market.customers", "scenario.note",
    "scenario.x._target_", "scenario.events", "hydra.callbacks.x", "hydra.callbacks.x._target_",
    "hydra.job_logging.handlers.file.filename", "hydra.job_logging.root.handlers",
    "hydra.job.env_set.NUMBA_CACHE_DIR", "hydra.job.env_set.PYTHONSTARTUP",
    "hydra.job.env_set.NUMBA_NUM_THREADS", "hydra.searchpath", "hydra.job.name",
    "hydra.output_subdir", "hydra.launcher._target_", "hydra.launcher.ray.init.runtime_env",
    "hydra.run.dir", "hydra.sweeper.params.seed",
]  # fmt: skip


def _deep_set(body: dict, key: str, value) -> None:
    """``body[a][b][c] = value`` for ``key`` 'a.b.c' (a later key replaces an earlier one)."""
    *parents, last = key.split(".")
    node = body
    for part in parents:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[last] = value


@st.composite
def attacks(draw, marker: str):
    """A scenario file (YAML text) and overrides built from the feature grammar."""
    payloads = _payloads(marker)
    value = st.one_of(
        st.sampled_from(payloads),
        st.builds(lambda p: [p, "ext://sys.stdout"], st.sampled_from(payloads)),
        st.builds(
            lambda p: {"_target_": "builtins.open", "file": marker, "mode": "w", "x": p},
            st.sampled_from(payloads),
        ),  # fmt: skip
        st.just(["pkg://conf", f"file://{marker}"]),
    )
    entries = draw(st.lists(st.tuples(st.sampled_from(KEYS), value), min_size=1, max_size=3))
    in_file = draw(st.lists(st.booleans(), min_size=len(entries), max_size=len(entries)))
    body: dict = {"scenario": {"name": "attack"}}
    overrides = []
    for (key, val), file in zip(entries, in_file, strict=True):
        if file:
            _deep_set(body, key, val)
        else:
            import json

            overrides.append(f"++{key}={json.dumps(val) if not isinstance(val, str) else val}")
    text = "# @package _global_\n" + OmegaConf.to_yaml(OmegaConf.create(body))
    if draw(st.booleans()):  # an anchor and alias, as a bomb would use
        text += "bomb: &a [1, 2]\nbomb2: [*a, *a]\n"
    return text, overrides


from omegaconf import OmegaConf  # noqa: E402


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_no_feature_combination_runs_code_or_echoes_the_environment(tmp_path_factory, data):
    from hydra.utils import instantiate

    from sim.config import composer

    root = tmp_path_factory.mktemp("attack")
    marker = str(root / MARKER)
    text, overrides = data.draw(attacks(marker))
    (root / "scenario").mkdir()
    (root / "scenario" / "attack.yaml").write_text(text)
    old = os.environ.get("JOURNEYSIM_SECRET")
    os.environ["JOURNEYSIM_SECRET"] = SECRET
    try:
        source = Source(config_dir=str(root))
        try:
            with composer(source) as compose:
                full = compose(["scenario=attack", *overrides])
                cfg = load_config(["scenario=attack", *overrides], source=source)
                instantiate(full.hydra.callbacks)  # what Hydra does with an accepted config
        except ConfigError as exc:
            event("refused")
            message = str(exc)
            assert "\n" not in message and SECRET not in message, message
        else:
            event("accepted")
            assert SECRET not in OmegaConf.to_yaml(cfg)
            assert SECRET not in OmegaConf.to_yaml(full, resolve=False)
    finally:
        if old is None:
            os.environ.pop("JOURNEYSIM_SECRET", None)
        else:
            os.environ["JOURNEYSIM_SECRET"] = old
    assert not os.path.exists(marker)
    assert not os.path.exists(MARKER)


def test_analyst_tables_never_quote_their_content(tmp_path):
    from sim.analysis.attribution import read_paths
    from sim.analysis.calibrate import read_data

    for content in (f"path,conversions,nulls\nA,{SECRET},0\n", f'path,conversions\n"{SECRET}\n'):
        (tmp_path / "p.csv").write_text(content)
        with pytest.raises(ConfigError) as info:
            read_paths(tmp_path / "p.csv")
        assert SECRET not in str(info.value)
    for content in (f"step,brand,share\n{SECRET},a,1\n", f"step,brand,share\n1,a,{SECRET}\n"):
        (tmp_path / "d.csv").write_text(content)
        with pytest.raises(ConfigError) as info:
            read_data(tmp_path / "d.csv")
        assert SECRET not in str(info.value)
