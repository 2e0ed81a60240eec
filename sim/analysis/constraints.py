"""Constraints of ``journeysim optimise``: arithmetic comparisons, parsed and never executed.

``--constraint EXPR`` is one comparison (<=, <, >=, >) of two arithmetic expressions
(+ - * / and parentheses) of numbers, KPIs (``<kpi>__<brand>``, the money totals and
customer equity) and the space's keys, e.g. ``'ad_spend__challenger <= 2000'``. It is
parsed with Python's ``ast`` into that grammar and evaluated by a small interpreter; its
violation (how far the left side is past the right, 0 or less when met) is what Optuna's
``Trial.set_constraint`` reads.
"""

from __future__ import annotations

import ast
import math
import operator
from dataclasses import dataclass

from sim.config import ConfigError

BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
COMPARE = {ast.LtE: "<=", ast.Lt: "<", ast.GtE: ">=", ast.Gt: ">"}


@dataclass(frozen=True)
class Constraint:
    """A parsed ``--constraint``: ``left OP right``.

    Attributes:
        text: the expression as given.
        left: the left side's syntax tree.
        op: ``<=``, ``<``, ``>=`` or ``>``.
        right: the right side's syntax tree.
    """

    text: str
    left: ast.expr
    op: str
    right: ast.expr

    @property
    def names(self) -> list[str]:
        """The KPIs and keys the expression reads."""
        out: list[str] = []
        for side in (self.left, self.right):
            for name in _names(side):
                if name not in out:
                    out.append(name)
        return out

    def sides(self, env: dict[str, float]) -> tuple[float, float]:
        """The values of the two sides."""
        return _evaluate(self.left, env), _evaluate(self.right, env)

    def violation(self, env: dict[str, float]) -> float:
        """How far the constraint is broken (<= 0 when it is met)."""
        left, right = self.sides(env)
        return left - right if self.op in ("<=", "<") else right - left


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return None if inner is None else f"{inner}.{node.attr}"
    return None


def _names(node: ast.expr) -> list[str]:
    name = _dotted(node)
    if name is not None:
        return [name]
    if isinstance(node, ast.BinOp):
        return _names(node.left) + _names(node.right)
    if isinstance(node, ast.UnaryOp):
        return _names(node.operand)
    return []


def _evaluate(node: ast.expr, env: dict[str, float]) -> float:
    name = _dotted(node)
    if name is not None:
        return float(env[name])
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.UnaryOp):
        value = _evaluate(node.operand, env)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp):
        left, right = _evaluate(node.left, env), _evaluate(node.right, env)
        if isinstance(node.op, ast.Div) and right == 0:
            return math.inf if left > 0 else (-math.inf if left < 0 else math.nan)
        return BINOPS[type(node.op)](left, right)
    raise TypeError(type(node).__name__)  # cannot happen: checked by _check


def _check(node: ast.expr, text: str) -> None:
    """Only numbers, names, dotted keys, + - * / and unary signs."""
    if _dotted(node) is not None:
        return
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise ConfigError(f"--constraint {text!r}: {node.value!r} is not a number")
        try:
            finite = math.isfinite(float(node.value))
        except OverflowError:  # an integer beyond any float
            finite = False
        if not finite or abs(float(node.value)) > MAX_NUMBER:
            raise ConfigError(
                f"--constraint {text[:60]!r}: a number beyond +/-{MAX_NUMBER:g} (numbers must "
                "be finite)"
            )
        return
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        _check(node.operand, text)
        return
    if isinstance(node, ast.BinOp) and type(node.op) in BINOPS:
        _check(node.left, text)
        _check(node.right, text)
        if isinstance(node.op, ast.Div) and _constant(node.right) == 0:
            raise ConfigError(f"--constraint {text[:60]!r}: divides by zero")
        value = _constant(node)
        if value is not None and not math.isfinite(value):
            raise ConfigError(f"--constraint {text[:60]!r}: its numbers multiply beyond any float")
        return
    raise ConfigError(
        f"--constraint {text!r}: only numbers, KPIs, keys, + - * / and parentheses are allowed"
    )


def _constant(node: ast.expr) -> float | None:
    """The value of a sub-expression made of numbers only (None if it reads a name)."""
    if _names(node):
        return None
    try:
        return _evaluate(node, {})
    except (OverflowError, ZeroDivisionError):
        return None


#: Largest number a constraint may hold: far beyond any KPI, and its arithmetic stays finite.
MAX_NUMBER = 1e15
#: Longest constraint read: a budget rule over every channel of 8 brands fits well within it,
#: and the parser's time and memory stay bounded.
MAX_CONSTRAINT_CHARS = 500


def parse_constraint(text: str, valid: list[str]) -> Constraint:
    """Parse ``LEFT OP RIGHT`` and check its names against ``valid``.

    Raises:
        ConfigError: not one comparison, a construct other than arithmetic, or an unknown
            name (one line listing the valid names).
    """
    example = "e.g. 'ad_spend__challenger <= 2000'"
    if len(text) > MAX_CONSTRAINT_CHARS:
        raise ConfigError(f"--constraint {text[:40]!r}...: {len(text):,} characters (at most "
                          f"{MAX_CONSTRAINT_CHARS})")  # fmt: skip
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # nesting, huge numbers
        raise ConfigError(f"--constraint {text!r}: not an expression such as {example}") from None
    if not (isinstance(tree, ast.Compare) and len(tree.ops) == 1 and type(tree.ops[0]) in COMPARE):
        raise ConfigError(
            f"--constraint {text!r}: must be one comparison (<=, <, >=, >), {example}"
        )
    left, right = tree.left, tree.comparators[0]
    _check(left, text)
    _check(right, text)
    c = Constraint(text.strip(), left, COMPARE[type(tree.ops[0])], right)
    for name in c.names:
        if name not in valid:
            raise ConfigError(
                f"--constraint {text!r}: {name} is not a KPI or a key of the space; valid "
                f"names: {', '.join(valid)}"
            )
    if not c.names:
        raise ConfigError(f"--constraint {text!r}: compares numbers only")
    return c
