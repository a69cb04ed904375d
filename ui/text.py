"""Small text helpers for pages: counts with the right plural."""
from __future__ import annotations


def plural(n: int, word: str) -> str:
    """'1 step', '2 steps', '1,234 steps'."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"
