"""Session-wide test settings: checkpoints and autosaves of every run the tests make (in-process, AppTest
and the app servers the browser tests start) go to a temporary folder, never to ./runs."""
import os
import tempfile

import pytest

_RUNS = tempfile.mkdtemp(prefix="gan-playground-test-runs-")
os.environ["GAN_PLAYGROUND_RUNS"] = _RUNS
os.environ["GAN_PLAYGROUND_LIVE_STALE_S"] = "4"  # a killed trainer of a watched folder is noticed sooner
os.environ.pop("GAN_PLAYGROUND_PRESENTER_TOKEN", None)  # lecture mode only where a test turns it on


@pytest.fixture(scope="module")
def one_thread():
    """Small CPU ops: one torch thread avoids OpenMP spinning on a busy machine (50x slower when contended).
    A module opts in with ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    import torch
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """One `streamlit run app.py` for every browser test module (each test opens its own link: ?preset=...)."""
    from helpers_server import serve
    yield from serve(tmp_path_factory)


@pytest.fixture(scope="session")
def browser():
    """One headless Debian Chromium for the session (tests open their own pages and contexts)."""
    from helpers_browser import CHROMIUM, CHROMIUM_ARGS, sync_api  # skips without Chromium or Playwright
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(autouse=True)
def _keep_main_module():
    """AppTest leaves app.py installed as ``sys.modules['__main__']``; a process pool started later with
    "spawn" would then re-run app.py in every worker (slow, and in bare mode). Put pytest's back."""
    import sys
    main = sys.modules.get("__main__")
    yield
    if main is not None and sys.modules.get("__main__") is not main:
        sys.modules["__main__"] = main
