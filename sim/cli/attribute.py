"""``journeysim attribute``: a paths file's attribution, or ``--truth``, a run's against the truth.

The two live in ``sim.analysis.attribution`` (Markov and the heuristic models on a paths file)
and ``sim.analysis.journeys`` (paths of a simulated run and the conversions each channel
really caused); the choice is made here, so neither module imports the other's command.
"""

from __future__ import annotations


def command(args: list[str]) -> int:
    """``attribute PATHS.csv [--out DIR]``, or ``attribute --truth [overrides]``."""
    from sim.analysis import options

    if "--truth" in args:
        from sim.analysis.journeys import truth_command

        return options.run_command(lambda: truth_command([a for a in args if a != "--truth"]))
    from sim.analysis.attribution import command as paths_command

    return paths_command(args)
