"""Analyst tools, one module per tool, each a ``journeysim`` subcommand.

Each subcommand is a module function ``command(args) -> exit code``:

- ``facts``: the market against stylised facts of real markets (issue 8);
- ``calibrate``: fit parameters to observed per-brand time series (Optuna);
- ``sensitivity``: Morris screening and Sobol indices of a KPI (SALib);
- ``optimise``: search a brand's strategy for a KPI under constraints (Optuna);
- ``journeys``: sampled customers' touchpoint paths and the weekly marketing mix;
- ``attribution``: Markov removal-effect attribution of paths, and against the simulated
  ground truth (``attribute --truth``);
- ``groundtruth``: weekly media-mix data under a flighting plan (``flighting``) with every
  channel's true effect from paired counterfactual runs (``truth``), the data in
  PyMC-Marketing's and Meridian's layouts (``mmm_data``), and a model's estimates against
  the truth (``truthcheck``, ``groundtruth --check``).

What the last five share: ``space`` (the parameter-space file), ``runs`` (one market
composed once, candidates run in parallel with common random numbers), ``options``
(command-line options, errors, output folders) and ``plots`` (figures from the result
tables). They use only ``sim.load_config``/``sim.simulate`` and the config machinery, never
the engine's internals.
"""
