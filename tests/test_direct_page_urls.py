"""A page URL opened first on a fresh server (what every tab of a class does when it reconnects after a
restart) still runs through app.py — its lecture-mode guards, top navigation and status line — instead of
Streamlit's old multipage mode running the page's script alone (ui/__init__.py)."""
from __future__ import annotations

import time

import pytest

from helpers_server import serve
from helpers_ws import ProtocolClient


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    yield from serve(tmp_path_factory, {"GAN_PLAYGROUND_PRESENTER_TOKEN": "fresh-server-token"})


@pytest.mark.parametrize("page", ["guide"])
def test_a_page_url_first_on_a_fresh_server_goes_through_app_py(fresh, page):
    with ProtocolClient(fresh, timeout=60) as c:
        c.rerun(page=page)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(t.startswith("Run `") for t in c.texts()):
            time.sleep(0.1)
        texts = c.texts()
        assert any(t.startswith("Run `") for t in texts), texts[:5]  # app.py's status line
        with c._lock:  # noqa: SLF001
            navs = [m.navigation for m in c.messages if m.WhichOneof("type") == "navigation"]
        assert navs and navs[-1].position == navs[-1].TOP and len(navs[-1].app_pages) >= 8  # app.py's pages
        assert any("Reading the Train page" in t for t in texts)  # and the page asked for
