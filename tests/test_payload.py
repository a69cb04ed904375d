"""The shared payload of the live panel (ui/payload.py): a piece is built once per key for every session,
concurrent sessions wait for one build, and lecture-mode viewers of a training run share one snapshot, so two
viewers cost one build of the charts, not two."""
from __future__ import annotations

import threading
import time

import numpy as np

from helpers_ui import attached, clean_registry, new_session, rendered, wait_until  # noqa: F401
from ui.payload import Shared, digest


def test_one_build_per_key_even_when_asked_at_once():
    shared, calls = Shared(keep=4), []

    def build():
        calls.append(1)
        time.sleep(0.2)
        return object()
    got = []
    threads = [threading.Thread(target=lambda: got.append(shared.get("k", build))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len({id(g) for g in got}) == 1 and shared.builds == 1 and shared.hits == 7
    for i in range(6):
        shared.get(i, lambda: i)
    assert len(shared._done) == 4  # noqa: SLF001  (bounded: the oldest go first)


def test_a_digest_follows_content():
    a = {"step": np.arange(5, dtype=np.float32), "d_loss": np.ones(5, dtype=np.float32)}
    b = {"step": np.arange(5, dtype=np.float32), "d_loss": np.ones(5, dtype=np.float32)}
    assert digest(a) == digest(b)
    b["d_loss"][2] = 0.5  # a roll back that regrew to the same length: another key
    assert digest(a) != digest(b)


def test_two_viewers_of_a_training_run_cost_one_chart_build(monkeypatch, clean_registry):  # noqa: F811
    from ui import payload
    monkeypatch.setenv("GAN_PLAYGROUND_PRESENTER_TOKEN", "payload-token")
    monkeypatch.setattr(payload, "SNAPSHOT_S", 3600.0)  # both viewers inside one snapshot window
    first = rendered(new_session())
    run = attached(first)
    run.start()
    try:
        wait_until(lambda: run.step > 20, what="training")
        payload.SHARED.clear()
        before = payload.SHARED.builds
        v1 = rendered(new_session(run.id))
        built = payload.SHARED.builds - before
        v2 = rendered(new_session(run.id))
        assert payload.SHARED.builds - before == built  # the second viewer built nothing
        assert built >= 2  # the snapshot and the training chart (and the picture once it exists)
        step = lambda at: [m.value for m in at.metric if m.label == "Step"]  # noqa: E731
        assert step(v1) == step(v2)  # the same snapshot
    finally:
        run.pause()
