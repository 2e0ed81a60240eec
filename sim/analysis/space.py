"""The parameter-space file shared by the analyst tools.

A YAML mapping from a config key to its range::

    wom.talk_rate: {low: 0.02, high: 0.3}
    brands.challenger.price: {low: 0.6, high: 1.2}
    brands.incumbent.ad_reach.tv: {low: 0.001, high: 0.05, log: true}

``log: true`` samples the key on a log scale (``low`` must then be positive). A key whose
configured value is an integer (``sim.steps``, ``brands.<b>.launch_step``) is sampled as
an integer. Every key is checked like a command-line override: the market is composed with
the key at its low and at its high value, and any refusal is one line naming the key.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import yaml

from sim.config import ConfigError

FIELDS = ("low", "high", "log")


@dataclass(frozen=True)
class Param:
    """One dimension of the space.

    Attributes:
        key: the config key, e.g. ``wom.talk_rate``.
        low: lower bound (inclusive).
        high: upper bound (inclusive).
        log: sampled uniformly in log(value).
        integer: the config value is an integer (sampled as one).
    """

    key: str
    low: float
    high: float
    log: bool = False
    integer: bool = False

    def value(self, x: float) -> float | int:
        """A value of this key from a number in its range (rounded for integer keys)."""
        if self.integer:
            return int(min(self.high, max(self.low, round(x))))
        return float(min(self.high, max(self.low, x)))

    def to_unit(self, value: float) -> float:
        """Where ``value`` lies between low (0) and high (1), on the log scale if ``log``."""
        if self.log:
            return (math.log(value) - math.log(self.low)) / (
                math.log(self.high) - math.log(self.low)
            )
        return (value - self.low) / (self.high - self.low)

    def from_unit(self, u: float) -> float | int:
        """The value at ``u`` in [0, 1] of the range (log scale if ``log``)."""
        if self.log:
            x = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        else:
            x = self.low + u * (self.high - self.low)
        return self.value(x)


def format_value(value: float | int) -> str:
    """A value as an override's right-hand side (shortest exact form, Hydra-readable)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    text = repr(float(value))
    return text


def override(key: str, value: float | int) -> str:
    """``key=value`` for one parameter value."""
    return f"{key}={format_value(value)}"


def _number(path: str, key: str, field: str, raw) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise ConfigError(f"{path}: {key}: {field}={raw!r}: must be a number")
    value = float(raw)
    if not math.isfinite(value):
        raise ConfigError(f"{path}: {key}: {field}={raw!r}: must be a finite number")
    return value


def parse_space(text: str, path: str = "space") -> list[tuple[str, float, float, bool]]:
    """Parse the YAML text of a space into (key, low, high, log) tuples (no config check).

    Raises:
        ConfigError: not a mapping, a range that is not ``{low, high[, log]}``, an unknown
            field, low >= high, or a log scale with low <= 0; one line naming the key.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(f"{path}: not valid YAML{where}") from None
    if not isinstance(data, dict) or not data:
        raise ConfigError(
            f"{path}: must be a mapping from config keys to ranges, e.g. "
            "'wom.talk_rate: {low: 0.02, high: 0.3}'"
        )
    out = []
    for key, spec in data.items():
        if not isinstance(key, str) or not key or any(c.isspace() for c in key):
            raise ConfigError(f"{path}: {key!r}: not a config key such as wom.talk_rate")
        if key.startswith(("+", "~")) or "=" in key:
            raise ConfigError(f"{path}: {key}: give the key alone, without +, ~ or =")
        if not isinstance(spec, dict):
            raise ConfigError(f"{path}: {key}: must be a range such as {{low: 0.1, high: 0.5}}")
        unknown = [f for f in spec if f not in FIELDS]
        if unknown:
            raise ConfigError(
                f"{path}: {key}: unknown field {unknown[0]!r} (fields: low, high, log)"
            )
        for field in ("low", "high"):
            if field not in spec:
                raise ConfigError(f"{path}: {key}: {field} is missing")
        low = _number(path, key, "low", spec["low"])
        high = _number(path, key, "high", spec["high"])
        log = spec.get("log", False)
        if not isinstance(log, bool):
            raise ConfigError(f"{path}: {key}: log={log!r}: must be true or false")
        if low >= high:
            raise ConfigError(f"{path}: {key}: low={low:g} must be below high={high:g}")
        if log and low <= 0:
            raise ConfigError(f"{path}: {key}: low={low:g}: a log scale needs low > 0")
        out.append((key, low, high, log))
    return out


def load_space(path: str | Path, overrides: list[str] = ()) -> list[Param]:
    """Read and check a parameter-space file against the market of ``overrides``.

    The market is composed through Hydra, exactly as with command-line overrides, with
    every key at its low value and again at its high value, and validated (key by key
    when that fails, to name the key); integer-valued keys need integer bounds.

    Raises:
        ConfigError: the file is missing or malformed, or a key or bound is refused (one
            line naming the file and the key).
    """
    from omegaconf import OmegaConf

    from sim.config import composer

    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such parameter-space file") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise ConfigError(f"{path}: cannot be read ({reason})") from None
    specs = parse_space(text, str(path))
    params = []
    with composer() as compose:
        base = compose(list(overrides))
        for key, low, high, log in specs:
            current = OmegaConf.select(base, key, default=None, throw_on_missing=False)
            if isinstance(current, (dict, list)) or OmegaConf.is_config(current):
                raise ConfigError(f"{path}: {key}: names a section of the config, not a number")
            if isinstance(current, str) and not _is_interpolation(base, key):
                raise ConfigError(f"{path}: {key}={current}: not a number in the config")
            integer = isinstance(current, int) and not isinstance(current, bool)
            if integer and (low != int(low) or high != int(high)):
                raise ConfigError(
                    f"{path}: {key}: an integer key needs integer bounds (low={low:g}, "
                    f"high={high:g})"
                )
            params.append(Param(key, low, high, log, integer))
        for side in ("low", "high"):
            _check_bounds(compose, list(overrides), params, side, str(path))
    return params


def _bound(p: Param, side: str) -> float | int:
    value = p.low if side == "low" else p.high
    return int(value) if p.integer else value


def _check_bounds(compose, overrides: list[str], params: list[Param], side: str, path: str) -> None:
    """Validate every key at its ``side`` bound: all at once, then key by key to name one.

    Raises:
        ConfigError: a bound the config refuses (naming the key), or the bounds together
            breaking a rule no single one breaks.
    """
    from sim.config import finalise

    together = [override(p.key, _bound(p, side)) for p in params]
    try:
        finalise(compose([*overrides, *together]))
        return
    except ConfigError as exc:
        combined = str(exc)
    for p in params:
        try:
            finalise(compose([*overrides, override(p.key, _bound(p, side))]))
        except ConfigError as exc:
            raise ConfigError(f"{path}: {p.key}: {exc}") from None
    raise ConfigError(f"{path}: every key at its {side} bound together: {combined}")


def _is_interpolation(cfg, key: str) -> bool:
    from omegaconf import OmegaConf

    parent, _, leaf = key.rpartition(".")
    node = OmegaConf.select(cfg, parent) if parent else cfg
    try:
        return OmegaConf.is_interpolation(node, leaf)
    except Exception:  # noqa: BLE001 - only a hint for the message
        return False


def space_yaml(params: list[Param]) -> str:
    """The space as YAML (as it was read, bounds as floats or integers)."""
    lines = []
    for p in params:
        low = int(p.low) if p.integer else p.low
        high = int(p.high) if p.integer else p.high
        extra = ", log: true" if p.log else ""
        lines.append(f"{p.key}: {{low: {format_value(low)}, high: {format_value(high)}{extra}}}")
    return "\n".join(lines) + "\n"
