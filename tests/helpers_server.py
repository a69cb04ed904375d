"""`streamlit run app.py` in a subprocess for the tests that need a real server (browser tests and the raw
websocket attack tests); nothing here needs a browser. Not a test module itself."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def poll(fn, timeout: float, what: str):
    """Call ``fn`` until it returns something truthy; fail after ``timeout`` s with the last value seen."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout} s waiting for {what}; last seen: {last!r}")


def serve(tmp_path_factory, extra_env=None):
    """`streamlit run app.py` on a free port (with ``extra_env``); yields its URL, then stops it."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("streamlit") / "server.log"
    log = open(log_path, "wb")
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
           "--server.port", str(port), "--browser.gatherUsageStats", "false"]
    env = {**os.environ, **(extra_env or {})}
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env)
    url = f"http://localhost:{port}"

    def healthy():
        if proc.poll() is not None:
            pytest.fail(f"streamlit exited with {proc.returncode}:\n{log_path.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                return resp.read().decode().strip() == "ok"
        except OSError:
            return False

    try:
        poll(healthy, 60, f"{url}/_stcore/health")
        yield url
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        except ProcessLookupError:
            pass
        log.close()


def live_status(folder) -> dict:
    """A trainer's DIR/live/status.json (gan_core.live_folder), or {} while there is none (or it is unreadable)."""
    from gan_core.live_folder import LiveFolder
    try:
        return LiveFolder(folder).status()
    except (OSError, ValueError):
        return {}
