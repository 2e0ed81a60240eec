"""The kinds of social network (``network.kind``), without importing the builders.

Validation reads this list; ``sim.engine.network`` builds each kind. Tie strength by kind:
``watts_strogatz`` lattice ties strong, rewired ties weak; ``erdos_renyi`` and
``barabasi_albert`` all weak; ``clustered`` strong inside a group, weak across groups;
``edgelist`` strong unless the file's ``strong`` column says 0; ``complete`` all weak.
"""

from __future__ import annotations

KINDS = (
    "complete", "erdos_renyi", "watts_strogatz", "barabasi_albert", "clustered", "edgelist",
)  # fmt: skip
