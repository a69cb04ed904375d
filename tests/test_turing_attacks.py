"""The class Turing round attacked through Streamlit's websocket protocol (bench/ws_client.py), against
`streamlit run app.py` in lecture mode: a presenter and two viewers. A viewer's page holds no answer before
they vote, a replayed or forged vote counts once, a vote cannot be cast on an image that is not open, and
the presenter's Start / Reveal / Next (whose widget ids are the same for every session: a student can compute
them from the source) do nothing when a viewer sends them."""
from __future__ import annotations

import json
import re
import time

import pytest

from helpers_server import poll, serve
from helpers_ws import ProtocolClient

TOKEN = "turing-attack-token"


@pytest.fixture(scope="module")
def lecture(tmp_path_factory):
    root = tmp_path_factory.mktemp("turing-runs")
    # every client here comes from 127.0.0.1: the viewers' shared rerun allowance (tested in
    # test_lecture_attacks) is raised so that no message of this test is dropped as a flood
    env = {"GAN_PLAYGROUND_PRESENTER_TOKEN": TOKEN, "GAN_PLAYGROUND_RUNS": str(root),
           "GAN_PLAYGROUND_VIEWER_RERUNS_PER_S": "100"}
    for url in serve(tmp_path_factory, env):
        yield url, root


def on_turing(client: ProtocolClient, rid: str, widgets=None) -> None:
    client.rerun(query=f"run={rid}", page="turing", widgets=widgets)
    client.wait_finished(timeout=60)


def round_files(root, rid):
    return sorted((root / rid / "turing").glob("*/round.json"))


def state(root, rid):
    (meta,) = [json.loads(p.read_text()) for p in round_files(root, rid)]
    votes = json.loads((round_files(root, rid)[0].parent / "votes.json").read_text())
    return meta, votes


def vote_ids(client: ProtocolClient) -> dict:
    """answer -> widget id of the newest vote buttons this client was sent, with the image id they carry."""
    out = {}
    for key, wid in client.widget_ids.items():
        m = re.fullmatch(r"class_(real|fake)_([0-9a-f]{16})", key)
        if m:
            out[(m.group(1), m.group(2))] = wid
    return out


def test_a_class_round_against_forged_messages(lecture):
    url, root = lecture
    p = ProtocolClient(url, timeout=60)
    p.rerun()
    p.wait_finished()
    p.sign_in(TOKEN)
    p.rerun(query="preset=digits")
    p.wait_finished()
    rid = next(re.search(r"· run `([\w-]+)`", t).group(1) for t in reversed(p.texts()) if "· run `" in t)
    on_turing(p, rid)
    start_id = p.widget_ids["turing_class_start"]

    v1, v2 = ProtocolClient(url, timeout=60), ProtocolClient(url, timeout=60)
    try:
        for v in (v1, v2):
            on_turing(v, rid)
        on_turing(v1, rid, {start_id: True})  # a viewer sends the presenter's Start: no round
        assert not round_files(root, rid)

        p.click("turing_class_start", f"run={rid}", page="turing")  # 10 images
        poll(lambda: round_files(root, rid), 10, "the round to be saved")
        meta, _ = state(root, rid)
        first = meta["items"][0]
        for v in (v1, v2):
            on_turing(v, rid)
        ids1 = vote_ids(v1)
        assert set(ids1) == {("real", first["id"]), ("fake", first["id"])}
        sent = " ".join(v1.texts())
        assert "It was" not in sent and "said real" not in sent  # nothing about the answer before a vote

        on_turing(v1, rid, {ids1[("real", first["id"])]: True})
        on_turing(v1, rid, {ids1[("fake", first["id"])]: True})  # a second vote, replayed by hand
        on_turing(v1, rid, {ids1[("real", first["id"])]: True})
        on_turing(v2, rid, {vote_ids(v2)[("fake", first["id"])]: True})
        _, votes = state(root, rid)
        assert sorted(votes[first["id"]].values()) == ["fake", "real"]  # two sessions, two votes
        assert any("You said **real**" in t for t in v1.texts()[-10:])

        on_turing(p, rid)
        reveal_id = p.widget_ids["turing_reveal"]
        on_turing(v2, rid, {reveal_id: True})  # a viewer forges Reveal
        assert state(root, rid)[0]["revealed"] is False
        p.click("turing_reveal", f"run={rid}", page="turing")
        assert state(root, rid)[0]["revealed"] is True
        next_id = p.widget_ids["turing_next"]
        on_turing(v1, rid, {next_id: True})  # and Next
        assert state(root, rid)[0]["current"] == 0

        late = ProtocolClient(url, timeout=60)  # a session that never saw the image, voting after the reveal
        try:
            on_turing(late, rid, {ids1[("real", first["id"])]: True})
        finally:
            late.close()
        assert len(state(root, rid)[1][first["id"]]) == 2

        p.click("turing_next", f"run={rid}", page="turing")
        meta, votes = state(root, rid)
        assert meta["current"] == 1 and not meta["revealed"]
        second = meta["items"][1]["id"]
        on_turing(v1, rid, {ids1[("fake", first["id"])]: True})  # an old button aimed at the new image
        assert state(root, rid)[1][second] == {}
        on_turing(v1, rid)
        assert set(vote_ids(v1)) >= {("real", second), ("fake", second)}  # the new image's own ballot
        time.sleep(0.3)
        assert state(root, rid)[1][first["id"]] == votes[first["id"]]
    finally:
        for c in (v1, v2, p):
            c.close()
