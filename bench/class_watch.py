"""A whole class watching: training speed and freshness with 1, 8, 16, 32 sessions on the Train page.

    python bench/class_watch.py [--sessions 1,8,16,32] [--seconds 20] [--preset ring8] [--watched]

Starts ``streamlit run app.py`` in lecture mode (a presenter token; the viewers' per-address rerun allowance
raised, as if every session came from its own laptop) and a presenter session (a raw client of Streamlit's
websocket protocol, bench/ws_client.py) that signs in and starts a run of the preset. Its steps/s is read
from the run's Step metric. Then N watcher sessions open the Train page and do what a browser tab does: every
time the server asks for an automatic fragment rerun (``ForwardMsg.auto_rerun``: the live panel, twice a
second while training), they send it, one at a time. Prints, for each N, the training speed beside the speed
with nobody watching (measured first, in the same server), and how often each session saw a new step (the
median and the worst session's 95th-percentile gap). Target (issue #14): with 32 sessions, >= 70% of the
undisturbed steps/s, and every session sees a new step at least once a second.

``--watched``: the run trains in its own process instead (``python -m gan_core train --out RUNS/class-<preset>``,
one thread, as a lecturer's server would), and the N sessions open the Watch page (``?watch=class-<preset>``)
that draws its live folder. Training speed is read from the folder's heartbeat (live/status.json).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from viewer_starvation import free_port, rate, start_presenter  # noqa: E402
from viewer_starvation import start_server as starvation_server  # noqa: E402
from ws_client import ForwardMsg, ProtocolClient  # noqa: E402


class Watcher(ProtocolClient):
    """A session that reruns its page's fragments when the server says so, and notes when the Step it is
    shown changes."""

    def __init__(self, url: str, query: str, page: str = ""):
        self.page = page  # the page's URL path ("" : the Train page)
        self.fragments: dict[str, float] = {}  # fragment id -> interval (s)
        self.step_seen: list[tuple[float, int]] = []
        self._last_step = None
        super().__init__(url, timeout=60)
        self.query = query

    def _read(self) -> None:
        try:
            for data in self.ws:
                fm = ForwardMsg()
                fm.ParseFromString(data)
                kind = fm.WhichOneof("type")
                if kind == "script_finished":
                    self.finished += 1
                elif kind == "auto_rerun":
                    self.fragments[fm.auto_rerun.fragment_id] = fm.auto_rerun.interval
                elif kind == "stop_auto_rerun":
                    self.fragments.pop(fm.stop_auto_rerun.fragment_id, None)
                elif kind == "delta" and fm.delta.new_element.WhichOneof("type") == "metric":
                    m = fm.delta.new_element.metric
                    if m.label == "Step":
                        step = int(m.body.replace(",", ""))
                        if step != self._last_step:
                            self._last_step = step
                            self.step_seen.append((time.monotonic(), step))
        except Exception:  # noqa: BLE001  (closed)
            pass

    def drive(self, stop: threading.Event) -> None:
        """Rerun each fragment at its interval, never two script runs of this session at once."""
        self.rerun(query=self.query, page=self.page)
        self.wait_finished(timeout=120)
        due: dict[str, float] = {}
        while not stop.is_set():
            now = time.monotonic()
            for fid, every in list(self.fragments.items()):
                if now >= due.get(fid, 0.0):
                    target = self.finished + 1
                    self.rerun(query=self.query, fragment_id=fid, page=self.page)
                    deadline = time.monotonic() + 30
                    while self.finished < target and time.monotonic() < deadline and not stop.is_set():
                        time.sleep(0.005)
                    due[fid] = max(now + every, time.monotonic())
            time.sleep(0.01)


def start_server(port: int, runs: Path) -> subprocess.Popen:
    # every watcher comes from this machine: raise the viewers' per-address rerun allowance, as if each
    # session came from its own laptop
    return starvation_server(port, runs, {"GAN_PLAYGROUND_VIEWER_RERUNS_PER_S": "1000"})


def watch(url: str, query: str, n: int, seconds: float, presenter, page: str = "") -> dict:
    """``presenter``: the presenter session whose run's speed is measured, or a callable (seconds) -> steps/s."""
    stop = threading.Event()
    watchers = [Watcher(url, query, page) for _ in range(n)]
    threads = [threading.Thread(target=w.drive, args=(stop,), daemon=True) for w in watchers]
    for t in threads:
        t.start()
    time.sleep(3.0)  # every session has loaded its page
    t0, cpu0 = time.monotonic(), time.process_time()
    speed = presenter(seconds) if callable(presenter) else rate(presenter, seconds)
    t1, cpu1 = time.monotonic(), time.process_time()
    stop.set()
    for t in threads:
        t.join(10)
    gaps_p95, gaps_median = [], []
    for w in watchers:
        times = np.array([t for t, _ in w.step_seen if t0 <= t <= t1])
        gaps = np.diff(np.concatenate([[t0], times, [t1]])) if len(times) else np.array([t1 - t0])
        gaps_p95.append(float(np.percentile(gaps, 95)))
        gaps_median.append(float(np.median(gaps)))
        w.close()
    return {"sessions": n, "steps_per_s": round(speed, 1), "median_gap_s": round(float(np.median(gaps_median)), 2),
            "worst_p95_gap_s": round(max(gaps_p95), 2),
            "bench_client_cpu": round((cpu1 - cpu0) / (t1 - t0), 2)}  # cores this process used: the same machine


def start_trainer(folder: Path, preset: str):
    """A `train --out folder` process (one thread) and a function (seconds) -> its steps/s from the heartbeat."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    trainer = subprocess.Popen([sys.executable, "-m", "gan_core", "train", "--preset", preset, "--steps", "100000000",
                                "--out", str(folder), "--quiet", "--set", "cpu_threads=1"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

    def step() -> tuple:
        for _ in range(200):
            try:
                return time.monotonic(), json.loads((folder / "live" / "status.json").read_text())["step"]
            except (OSError, ValueError, KeyError):
                time.sleep(0.1)
        raise RuntimeError("the trainer wrote no live status")

    def speed(seconds: float) -> float:
        t0, s0 = step()
        time.sleep(seconds)
        t1, s1 = step()
        return (s1 - s0) / (t1 - t0)

    step()
    time.sleep(3)  # warm up
    return trainer, speed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", default="1,8,16,32")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--preset", default="ring8")
    ap.add_argument("--watched", action="store_true", help="train in a separate `train --out` process; "
                    "the sessions open the Watch page")
    args = ap.parse_args()
    port = free_port()
    url = f"http://localhost:{port}"
    runs = Path(tempfile.mkdtemp(prefix="class-watch-runs-"))
    proc = start_server(port, runs)
    rows, trainer = [], None
    try:
        if args.watched:
            trainer, presenter = start_trainer(runs / f"class-{args.preset}", args.preset)
            query, page = f"watch=class-{args.preset}", "watch"
        else:
            presenter, rid = start_presenter(url, args.preset, timeout=120)
            query, page = f"run={rid}", ""
        alone = presenter(args.seconds) if callable(presenter) else rate(presenter, args.seconds)
        print(f"nobody watching: {alone:.0f} it/s", file=sys.stderr, flush=True)
        for n in (int(x) for x in args.sessions.split(",")):
            row = watch(url, query, n, args.seconds, presenter, page)
            row["ratio"] = round(row["steps_per_s"] / alone, 3) if alone else None
            rows.append(row)
            print(f"{n:>3} sessions: {row['steps_per_s']:.0f} it/s ({100 * (row['ratio'] or 0):.0f}%) · new step "
                  f"every {row['median_gap_s']:.2f} s (median) · worst session p95 gap {row['worst_p95_gap_s']:.2f} s · "
                  f"the clients used {row['bench_client_cpu']:.2f} cores",
                  file=sys.stderr, flush=True)
    finally:
        if trainer is not None:
            os.killpg(trainer.pid, signal.SIGKILL)
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    print(json.dumps({"preset": args.preset, "watched": args.watched, "nobody_watching_steps_per_s": round(alone, 1), "rows": rows,
                      "cpus": os.cpu_count(), "python": platform.python_version()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
