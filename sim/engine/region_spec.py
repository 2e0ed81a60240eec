"""What a region config may hold, without the engine: names, limits and keys.

Imported by the config checks (``sim.config.validate``), which must not load Numba.
"""

from __future__ import annotations

#: At most this many regions: a region is one byte per customer, and every per-step
#: accumulator is kept per (region, segment) cell.
MAX_REGIONS = 16
#: At most this many (region, segment) cells.
MAX_CELLS = 64
#: The name of the one region of a config that names none.
DEFAULT_REGION = "everywhere"
#: The ``region`` of the rows of a regional result file that hold each brand's totals.
ALL_REGIONS = "all"
#: Keys of a region, and of one brand in a region.
REGION_KEYS = ("share", "brands")
REGION_BRAND_KEYS = ("present", "launch_step", "price_factor", "ad_factor")
#: Initial-draw family of the region (see ``sim.engine.state``): slot 0 the region, slot 1
#: whether the customer lives among its region.
FAMILY_REGION = 7
#: The launch step of a brand absent from a region (never reached).
NEVER = 1 << 40
