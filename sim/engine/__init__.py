"""The engine: columns, networks, random numbers, kernels, the step, records, ``simulate``.

Modules: ``params`` (column names of the parameter tables), ``rng``, ``state``,
``network``, ``kernels``, ``model`` (``JourneyModel``), ``metrics`` (``Recorder``),
``step_records`` (the records' storage), ``kpi`` (headline KPIs), ``runner`` (``simulate``,
``Result``), ``resources`` (memory and time estimates), ``allocator`` (large arrays mapped
from the system).
"""
