"""Lecture mode attacked the way a student could: raw clients of Streamlit's websocket protocol
(bench/ws_client.py: the BackMsg/ForwardMsg protobufs the browser speaks, without obeying the page) and
direct HTTP requests, against `streamlit run app.py` started with a presenter token. No browser needed.

A viewer cannot clear the runs away (BackMsg.clear_cache), cannot load saved runs by URL (and so cannot
push the presenter's run out), cannot make the server run scripts as fast as it sends reruns (their
connection is closed), cannot upload files, guesses the token no faster from many sessions than from one,
and a page with a foreign Host header (DNS rebinding) gets no websocket at all.
"""
from __future__ import annotations

import re
import threading
import time
import urllib.error
import urllib.request

import pytest

from helpers_server import live_status as _live_status
from helpers_server import poll, serve
from helpers_ws import ProtocolClient

TOKEN = "attack-test-token"
BAN_S = 6.0


@pytest.fixture(scope="module")
def saved_ids(tmp_path_factory):
    """Four runs saved on disk before the server starts (what the app's autosaves leave behind)."""
    from gan_core import Run
    from gan_core.presets import preset_config
    root = tmp_path_factory.mktemp("attack-runs")
    ids = []
    for i in range(4):
        run = Run(preset_config("gauss1d", seed=i), run_id=f"saved{i}")
        run.step_once()
        run.save(root / run.id)
        run.stop()
        ids.append(run.id)
    return root, ids


@pytest.fixture(scope="module")
def lecture(tmp_path_factory, saved_ids):
    root, _ = saved_ids
    env = {"GAN_PLAYGROUND_PRESENTER_TOKEN": TOKEN, "GAN_PLAYGROUND_RUNS": str(root),
           "GAN_PLAYGROUND_FLOOD_BAN_S": str(BAN_S)}  # a flooding address is shut out this long (30 s by default)
    yield from serve(tmp_path_factory, env)


def presenter_run(url: str, preset: str = "ring8", start: bool = True) -> tuple[ProtocolClient, str]:
    """A presenter session that signed in and opened a ``preset`` run (started and training unless not
    ``start``); returns (client, run id)."""
    p = ProtocolClient(url, timeout=60)
    p.rerun()
    p.wait_finished()
    p.sign_in(TOKEN)
    p.rerun(query=f"preset={preset}")
    p.wait_finished()
    rid = run_of(p)
    if start:
        p.click("btn_start", f"run={rid}")
        poll(lambda: (step(p, rid) or 0) > 20, 30, "the presenter's run to train")
    return p, rid


def run_of(client: ProtocolClient) -> str:
    return next(re.search(r"· run `([\w-]+)`", t).group(1) for t in reversed(client.texts()) if "· run `" in t)


def step(client: ProtocolClient, rid: str):
    client.rerun(query=f"run={rid}")
    client.wait_finished(timeout=60)
    return client.latest_step()


def viewer(url: str, query: str = "") -> ProtocolClient:
    v = ProtocolClient(url, timeout=60)
    v.rerun(query=query)
    v.wait_finished()
    return v


def test_clear_cache_from_anyone_does_not_touch_the_runs(lecture):
    p, rid = presenter_run(lecture)
    try:
        v = viewer(lecture)
        assert run_of(v) == rid  # the class watches the presenter's run
        before = step(p, rid)
        v.send_clear_cache()
        p.send_clear_cache()  # even the presenter's own clear (the registry is no cache)
        time.sleep(1.0)
        after = step(p, rid)
        assert run_of(p) == rid and after > before  # the same run, still training: nothing was stopped
        assert "running" in " ".join(p.texts()[-20:])
        v.close()
    finally:
        p.click("btn_pause", f"run={rid}")
        p.close()


def test_a_viewer_cannot_load_saved_runs_by_url(lecture, saved_ids):
    _, ids = saved_ids
    p, rid = presenter_run(lecture)
    try:
        for sid in ids:  # four visits used to restore four runs and push the presenter's out (MAX_RUNS)
            v = viewer(lecture, f"run={sid}")
            assert run_of(v) == rid, f"?run={sid} showed a saved run to a viewer"
            assert any("is not running here" in t for t in v.texts())
            v.close()
        before = step(p, rid)
        time.sleep(0.5)
        assert step(p, rid) > before  # still training, still the current run
        fresh = viewer(lecture)
        assert run_of(fresh) == rid
        fresh.close()
    finally:
        p.click("btn_pause", f"run={rid}")
        p.close()


def test_a_rerun_flood_is_cut_off(lecture):
    """Eight clients sending rerun_script as fast as the socket takes it: the server runs only a bounded
    number of scripts for them, closes their connections, and the presenter's page still answers."""
    p, rid = presenter_run(lecture)
    stop = threading.Event()
    clients = [ProtocolClient(lecture, timeout=60) for _ in range(8)]
    sent = [0] * len(clients)

    def flood(i):
        try:
            while not stop.is_set():
                clients[i].rerun()
                sent[i] += 1
        except Exception:  # noqa: BLE001  (closed by the server: the point)
            pass
    threads = [threading.Thread(target=flood, args=(i,), daemon=True) for i in range(len(clients))]
    try:
        for t in threads:
            t.start()
        poll(lambda: not any(t.is_alive() for t in threads), 10, "every flooding connection to be closed")
        shut_out = ProtocolClient(lecture)  # and for a while every viewer from that address is shut out
        shut_out.rerun()
        with pytest.raises(TimeoutError):
            shut_out.wait_finished(timeout=1.5)
        shut_out.close()
        t0 = time.monotonic()
        s = step(p, rid)  # the presenter's page answers during the flood
        assert s is not None and time.monotonic() - t0 < 15
    finally:
        stop.set()
        for t in threads:
            t.join(5)
    finished = sum(c.finished for c in clients)
    assert sum(sent) > 1000, sent  # it was a flood
    assert finished <= 8 * 12, f"the server finished {finished} script runs for the flooding clients"
    assert all(not t.is_alive() for t in threads)  # every flooding connection was closed
    later = step(p, rid)
    assert later > s
    p.click("btn_pause", f"run={rid}")
    p.close()
    time.sleep(BAN_S)
    viewer(lecture).close()  # after a while a page from that address works again


def _xsrf(url: str) -> str:
    with urllib.request.urlopen(url + "/_stcore/health") as resp:  # where the page gets its XSRF cookie
        cookies = resp.headers.get_all("Set-Cookie") or []
    match = next((re.search(r"_streamlit_xsrf=([^;]+)", c) for c in cookies if "_streamlit_xsrf" in c), None)
    assert match, f"no XSRF cookie in {cookies}"
    return match.group(1)


def _put(url: str, session: str, xsrf: str, size: int, file_id: str = "f1") -> int:
    boundary = "----attack"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.zip\"\r\n"
            f"Content-Type: application/zip\r\n\r\n").encode() + b"\0" * size + f"\r\n--{boundary}--\r\n".encode()
    req = urllib.request.Request(f"{url}/_stcore/upload_file/{session}/{file_id}", data=body, method="PUT",
                                 headers={"Content-Type": f"multipart/form-data; boundary={boundary}",
                                          "X-Xsrftoken": xsrf, "Cookie": f"_streamlit_xsrf={xsrf}"})
    try:
        with urllib.request.urlopen(req) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_a_viewer_cannot_upload_and_uploads_are_bounded(lecture):
    xsrf = _xsrf(lecture)
    v = viewer(lecture)
    assert v.session_id
    assert _put(lecture, v.session_id, xsrf, 1 << 20) == 403  # no uploader for viewers: nothing stored
    p = ProtocolClient(lecture, timeout=60)
    p.rerun()
    p.wait_finished()
    p.sign_in(TOKEN)
    assert _put(lecture, p.session_id, xsrf, 1 << 20, "a") == 204  # the presenter may
    # per session, at most GAN_PLAYGROUND_MAX_UPLOAD_MB (200 MB) in total: 3 x 80 MB is refused at the third
    assert _put(lecture, p.session_id, xsrf, 80 << 20, "b") == 204
    assert _put(lecture, p.session_id, xsrf, 80 << 20, "c") == 204
    assert _put(lecture, p.session_id, xsrf, 80 << 20, "d") == 413
    v.close()
    p.close()


def test_token_guesses_from_one_address_are_slowed_together(lecture):
    """Ten sessions guessing at once from one laptop: about one guess per second is checked at most (the
    others are refused unchecked, or never run: viewers' reruns are rate limited per address too)."""
    sessions = []
    for _ in range(10):  # ten tabs opened one after another (paced: page loads share the address's allowance)
        sessions.append(viewer(lecture))
        time.sleep(0.3)
    time.sleep(2.5)  # the address's rerun bucket refills (8 at 4/s) after ten page loads: the guesses reach the check
    t0 = time.monotonic()
    for i, s in enumerate(sessions):
        s.sign_in(f"guess-{i}", wait=False)
    time.sleep(4.0)
    took = time.monotonic() - t0
    checked = sum(any("That is not the presenter token" in x for x in s.texts()) for s in sessions)
    assert checked >= 1  # a guess is checked, and told it was wrong
    assert checked <= 1 + took, f"{checked} guesses were checked in {took:.1f} s"
    # (the per-address bound on its own: test_app_safety.py::test_token_tries_are_limited_per_address)
    for s in sessions:
        s.close()


def test_a_foreign_host_header_gets_no_websocket(lecture):
    """DNS rebinding: a page at http://rebind.example that resolves to this machine."""
    port = lecture.rsplit(":", 1)[1]
    from websockets.exceptions import InvalidStatus
    with pytest.raises(InvalidStatus, match="403"):  # refused at the handshake: server.allowedHosts
        ProtocolClient(lecture, host=f"rebind.example:{port}", origin=f"http://rebind.example:{port}", timeout=10)
    ok = ProtocolClient(lecture, origin=f"http://localhost:{port}")
    ok.rerun()
    ok.wait_finished()
    ok.close()


def number_shown(client: ProtocolClient, key: str):
    """The newest value the server sent this client for the number input with user key ``key``."""
    with client._lock:
        messages = list(client.messages)
    for fm in reversed(messages):
        if fm.WhichOneof("type") == "delta" and fm.delta.new_element.WhichOneof("type") == "number_input":
            w = fm.delta.new_element.number_input
            if w.id.endswith(f"-{key}"):
                return w.value if w.set_value else w.default
    return None


@pytest.mark.parametrize("preset, key, value, forged, mine", [
    ("ring8_unrolled", "live_unroll_steps", 5, 0, 2),  # the unrolled GAN's look-ahead
    ("cycle_toy", "live_cycle_weight", 5.0, 0.0, 2.0),  # CycleGAN's cycle weight (a float field)
])
def test_a_viewer_cannot_change_a_family_setting(lecture, preset, key, value, forged, mine):
    """A family's live field is refused to a viewer's forged widget state, like the shared ones: the
    presenter's page still shows the run's own value afterwards, and the presenter's own change applies."""
    p, rid = presenter_run(lecture, preset, start=False)
    try:
        assert number_shown(p, key) == value
        v = viewer(lecture, f"run={rid}")
        assert run_of(v) == rid and key in v.widget_ids
        v.rerun(query=f"run={rid}", widgets={v.widget_ids[key]: forged})
        v.wait_finished()
        v.close()
        p.rerun(query=f"run={rid}")
        p.wait_finished()
        assert number_shown(p, key) == value
        p.rerun(query=f"run={rid}", widgets={p.widget_ids[key]: mine})  # the presenter may
        p.wait_finished()
        p.rerun(query=f"run={rid}")
        p.wait_finished()
        assert number_shown(p, key) == mine
    finally:
        p.close()


def test_a_viewer_cannot_hand_the_run_off_nor_pause_or_stop_its_trainer(lecture, saved_ids):
    """ui/handoff.py against forged clicks: the ⋮ menu's "Train in its own process" and the Watch page's Pause
    and Stop (and a live setting), sent by a viewer with the widget ids of their own page, change nothing. (Streamlit 1.67 itself
    drops a change to a widget it drew disabled; the server-side check behind it, ui.lecture.refuse, is what
    tests/test_handoff.py's forced AppTest click exercises.)"""
    from gan_core.live_control import send
    root, _ = saved_ids
    p, rid = presenter_run(lecture)
    folder = root / rid
    try:
        v = viewer(lecture, f"run={rid}")
        v.click("btn_handoff", f"run={rid}")  # forged: drawn disabled for a viewer
        time.sleep(1.0)
        assert not (folder / "live").exists()  # no trainer was started
        first = step(p, rid)
        poll(lambda: (step(p, rid) or 0) > first, 20, "the presenter's run, still training in the server")

        p.click("btn_handoff", f"run={rid}")  # the presenter's own click
        poll(lambda: _live_status(folder).get("state") == "running", 60, "the trainer in its own process")
        w = viewer(lecture, f"watch={rid}")
        w.rerun(query=f"watch={rid}", page="watch")
        w.wait_finished()
        for key in ("watch_pause", "watch_stop", "watch_take_over"):
            w.click(key, f"watch={rid}", page="watch")  # forged
        poll(lambda: "live_lr_d" in w.widget_ids, 20, "the viewer's (disabled) live settings")
        lr_d = _live_status(folder)["config"]["train"]["lr_d"]
        w.rerun(query=f"watch={rid}", page="watch", widgets={w.widget_ids["live_lr_d"]: 0.5})  # forged change
        w.wait_finished()
        time.sleep(1.5)  # three status writes
        s = _live_status(folder)
        assert s["state"] == "running" and s["control_seq"] == 0 and not s["held"]
        assert s["config"]["train"]["lr_d"] == lr_d and not (folder / "live" / "control.json").exists()
        p.rerun(query=f"watch={rid}", page="watch")
        p.wait_finished()
        p.click("watch_stop", f"watch={rid}", page="watch")  # the presenter's Stop is obeyed
        poll(lambda: _live_status(folder).get("state") == "stopped", 30, "the presenter's Stop")
    finally:
        if _live_status(folder).get("state") in ("running", "paused"):
            send(folder, "stop")  # never leave a trainer behind
            poll(lambda: _live_status(folder).get("state") == "stopped", 30, "the trainer to stop")
