"""The scenario library: the files of ``conf/scenario`` with their descriptions."""

from __future__ import annotations

from pathlib import Path

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "conf" / "scenario"


def list_scenarios(folder: Path = SCENARIO_DIR) -> list[tuple[str, str]]:
    """(name, description) of every scenario file (``scenario=NAME`` selects it)."""
    import yaml

    out = []
    for path in sorted(folder.glob("*.yaml")):
        data = yaml.safe_load(path.read_text()) or {}
        node = data.get("scenario", data) if isinstance(data, dict) else {}
        node = node if isinstance(node, dict) else {}
        out.append((path.stem, " ".join(str(node.get("description", "")).split())))
    return out
