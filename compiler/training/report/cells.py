"""The cells of gap.md: how a figure of a gap document is written (percent, fixed digits, a
value with its interval, signed points of lift), and the table and image-link lines around
them. A missing or NaN figure is written MISSING, never as a number."""
from __future__ import annotations

import math

MISSING = "—"


def pct(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return MISSING
    return f"{100 * x:.1f}"


def num(x, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return MISSING
    return f"{x:.{digits}f}"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out + [""]


def mean(xs):
    xs = [x for x in xs if x is not None and not (isinstance(x, float) and math.isnan(x))]
    return sum(xs) / len(xs) if xs else None


def image(images, name: str, alt: str) -> list[str]:
    """The link to plot `name` ("behaviour.png") as it was written: PNG or SVG."""
    stem = name.rsplit(".", 1)[0]
    found = [x for x in images if x.rsplit(".", 1)[0] == stem]
    return [f"![{alt}]({found[0]})", ""] if found else []


def ci(c, as_percent: bool = True) -> str:
    """A value with its interval: "12.5 [8.0, 17.1]" (percent) or points of lift."""
    if not c or c.get("value") is None:
        return MISSING
    f = pct if as_percent else num
    lo, hi = c.get("ci") or (None, None)
    return f"{f(c['value'])} [{f(lo)}, {f(hi)}]"


def signed(c) -> str:
    if not c or c.get("value") is None:
        return MISSING
    lo, hi = c.get("ci") or (None, None)
    g = lambda x: MISSING if x is None else f"{100 * x:+.1f}"
    return f"{g(c['value'])} [{g(lo)}, {g(hi)}]"
