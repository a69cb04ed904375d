"""Session-wide test settings: checkpoints and autosaves of every run the tests make (in-process, AppTest
and the app servers the browser tests start) go to a temporary folder, never to ./runs."""
import os
import tempfile

_RUNS = tempfile.mkdtemp(prefix="gan-playground-test-runs-")
os.environ["GAN_PLAYGROUND_RUNS"] = _RUNS
os.environ.pop("GAN_PLAYGROUND_PRESENTER_TOKEN", None)  # lecture mode only where a test turns it on
