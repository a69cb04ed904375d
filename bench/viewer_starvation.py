"""Viewer starvation: how much training speed a class of hostile viewers can take in lecture mode.

    python bench/viewer_starvation.py [--clients 8] [--seconds 15] [--preset ring8]

Starts ``streamlit run app.py`` with a presenter token (lecture mode). A presenter session (a raw client of
Streamlit's websocket protocol, bench/ws_client.py) signs in and starts a run of the preset; its steps/s
is read from the Step metric the server sends it (one rerun every 2 s). Then ``--clients`` viewer
sessions from this machine send ``rerun_script`` as fast as the socket takes it (no browser, no waiting
for the script to finish: the cheapest way to make the server work), for ``--seconds``. Prints the
undisturbed and the attacked steps/s and their ratio, and how many script runs the server finished for the
attackers. Target (the lecture-mode issue): ratio >= 0.60 with 8 clients on a 2-core machine.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from ws_client import ProtocolClient  # noqa: E402

TOKEN = "bench-presenter-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def start_server(port: int, runs: Path, extra_env: dict | None = None) -> subprocess.Popen:
    env = {**os.environ, "GAN_PLAYGROUND_PRESENTER_TOKEN": TOKEN, "GAN_PLAYGROUND_RUNS": str(runs), **(extra_env or {})}
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                             "--server.port", str(port), "--browser.gatherUsageStats", "false"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"http://localhost:{port}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return proc
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the app did not start")


def start_presenter(url: str, preset: str, timeout: float = 60) -> tuple[ProtocolClient, str]:
    """A presenter session that signed in, opened a run of ``preset`` and started it (3 s of warm-up);
    returns it (its ``query`` names the run) and the run id."""
    presenter = ProtocolClient(url, timeout=timeout)
    presenter.rerun()
    presenter.wait_finished()
    presenter.sign_in(TOKEN)
    presenter.query = f"preset={preset}"
    presenter.rerun(query=presenter.query)
    presenter.wait_finished()
    rid = next(t.split("`")[1] for t in reversed(presenter.texts()) if "· run `" in t)
    presenter.query = f"run={rid}"
    presenter.click("btn_start", presenter.query)
    time.sleep(3)  # warm up
    return presenter, rid


def rate(presenter: ProtocolClient, seconds: float) -> float:
    """Steps/s of the presenter's run over ``seconds`` (from the Step metric sent after each rerun)."""
    def step():
        presenter.rerun(query=presenter.query)
        presenter.wait_finished(timeout=60)
        return presenter.latest_step()
    t0, s0 = time.monotonic(), step()
    while time.monotonic() - t0 < seconds:
        time.sleep(2.0)
    t1, s1 = time.monotonic(), step()
    return (s1 - s0) / (t1 - t0)


def attack(url: str, stop: threading.Event, counts: list, rate: float = 0.0) -> None:
    try:
        c = ProtocolClient(url)
    except Exception:  # noqa: BLE001
        counts.append(-1)
        return
    sent = 0
    try:
        while not stop.is_set():
            c.rerun()
            sent += 1
            time.sleep(1.0 / rate if rate else 0.001)
    except Exception:  # noqa: BLE001  (the server closed the connection)
        pass
    counts.append((sent, c.finished))
    c.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--preset", default="ring8")
    ap.add_argument("--rate", type=float, default=0.0,
                    help="reruns per second per client (0: as fast as the socket takes them; a few per second "
                         "stays under the flood cut-off and is what the rate limits must bound)")
    args = ap.parse_args()
    import tempfile
    port = free_port()
    url = f"http://localhost:{port}"
    proc = start_server(port, Path(tempfile.mkdtemp(prefix="starvation-runs-")))
    try:
        presenter, _ = start_presenter(url, args.preset)
        before = rate(presenter, args.seconds)
        stop, counts = threading.Event(), []
        threads = [threading.Thread(target=attack, args=(url, stop, counts, args.rate), daemon=True) for _ in range(args.clients)]
        for t in threads:
            t.start()
        time.sleep(2)
        during = rate(presenter, args.seconds)
        stop.set()
        for t in threads:
            t.join(10)
        after = rate(presenter, args.seconds / 2)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    sent = sum(c[0] for c in counts if c != -1)
    finished = sum(c[1] for c in counts if c != -1)
    result = {"preset": args.preset, "clients": args.clients, "rate_per_client": args.rate, "undisturbed_steps_per_s": round(before, 1),
              "attacked_steps_per_s": round(during, 1), "after_steps_per_s": round(after, 1),
              "ratio": round(during / before, 3) if before else None, "reruns_sent": sent,
              "script_runs_finished_for_attackers": finished, "cpus": os.cpu_count(),
              "python": platform.python_version()}
    print(f"undisturbed {before:.0f} it/s · {args.clients} hostile clients {during:.0f} it/s "
          f"({100 * during / max(before, 1e-9):.0f}%) · after {after:.0f} it/s · reruns sent {sent:,}, "
          f"finished {finished:,}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
