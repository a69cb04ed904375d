"""Small text helpers for pages: counts with the right plural, and text from users, URLs and files shown
as text (never as markdown: a run id like ``![x](http://...)`` would make every viewer's browser fetch it)."""
from __future__ import annotations

import re

_PUNCT = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$=^&])")


def plural(n: int, word: str) -> str:
    """'1 step', '2 steps', '1,234 steps'."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def plain(text) -> str:
    """``text`` escaped for Streamlit markdown: no links, images, code spans, emphasis, LaTeX, colour or
    icon directives (``:red[...]``, ``:material/x:``) and no bare-URL links; one line."""
    s = _PUNCT.sub(r"\\\1", str(text))
    s = s.replace(":", ":\u200b")  # breaks :directive[...] / :material/x: and http:// autolinks
    s = re.sub(r"(?i)\bwww", "w\u200bww", s)  # and www. autolinks
    return " ".join(s.split())
