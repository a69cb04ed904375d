"""The drawn points of dataset "drawn" (Setup -> Data draws them; gan_core.data.drawn samples them with Gaussian
jitter): the validation rule of ``data.points`` and its compact text form (``--set points=``, links).
Re-exported by gan_core.config."""
from __future__ import annotations

import math
from typing import Any

# dataset "drawn": the user's own points (Setup -> Data draws them), sampled with Gaussian jitter
POINT_BOX = 4.0  # every drawn coordinate lies in [-POINT_BOX, POINT_BOX] (the drawing canvas)
MIN_POINTS, MAX_POINTS = 3, 2000  # a drawing needs a few points; the cap keeps configs and links small


class Points:
    """Rule for drawn points: a sequence of at most ``MAX_POINTS`` (x, y) pairs of finite numbers inside
    [-POINT_BOX, POINT_BOX]; ``convert`` turns lists (JSON) into the canonical tuple of float pairs."""

    def convert(self, qual: str, value: Any) -> tuple:
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{qual} must be a list of [x, y] pairs, not {type(value).__name__}")
        if len(value) > MAX_POINTS:
            raise ValueError(f"{qual} holds {len(value)} points; at most {MAX_POINTS} allowed")
        out = []
        for i, pair in enumerate(value):
            shown = f"{pair!r:.40}" + ("…" if len(repr(pair)) > 40 else "")
            if not isinstance(pair, (list, tuple)) or len(pair) != 2 or any(
                    isinstance(v, bool) or not isinstance(v, (int, float)) for v in pair):
                raise ValueError(f"{qual}[{i}] = {shown} must be an [x, y] pair of numbers")
            try:
                x, y = float(pair[0]), float(pair[1])
            except OverflowError:  # an int too large for a float
                x = y = math.inf
            if not all(math.isfinite(v) and -POINT_BOX <= v <= POINT_BOX for v in (x, y)):
                raise ValueError(f"{qual}[{i}] = {shown} is out of range: x and y must lie in "
                                 f"[{-POINT_BOX}, {POINT_BOX}]")
            out.append((x, y))
        return tuple(out)

    def check(self, qual: str, value: Any) -> None:
        self.convert(qual, value)


def points_text(points) -> str:
    """Drawn points as compact text, ``x1,y1;x2,y2;...`` (what ``--set points=`` and links take)."""
    def num(v: float) -> str:
        text = repr(float(v))
        return text[:-2] if text.endswith(".0") else text
    return ";".join(f"{num(x)},{num(y)}" for x, y in points)


def parse_points(qual: str, text: str) -> tuple:
    """``x1,y1;x2,y2;...`` or JSON ``[[x1, y1], ...]`` -> a list of pairs (checked by the Points rule)."""
    text = text.strip()
    if text.startswith("["):
        import json
        try:
            return json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            pass
    else:
        try:
            return [tuple(float(v) for v in pair.split(",")) for pair in text.split(";") if pair.strip()]
        except ValueError:
            pass
    raise ValueError(f"{qual} = {text[:40]!r}{'…' if len(text) > 40 else ''} is not a list of points; write "
                     "x1,y1;x2,y2;... or JSON [[x1, y1], [x2, y2], ...]")
