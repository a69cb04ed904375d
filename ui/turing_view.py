"""The Turing test page's parts: where the images come from, how one image is shown, and the round for one
player (kept in the session; ``ui/turing_class.py`` has the class round of lecture mode).

What the page sends a player before they answer is the image and two buttons, the same whether the image is
real or generated: the answer stays on the server (session state) until it was given."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

import numpy as np
import streamlit as st

from gan_core.turing import ANSWERS, draw_items, score
from ui.charts import upscale
from ui.text import plain

IMAGE_PX = 336  # what one image is enlarged to (nearest neighbour): big on a projector, above the fold at 720
COLUMNS = [1, 1.7]  # the image, and the buttons / answers beside it
SIZES = (10, 20, 50)  # images per round offered (half real, half generated)
SOLO = "turing_solo"


def session_id() -> str:
    """Who votes: the browser (the secret behind Streamlit's XSRF cookie, the same in every tab and after a
    refresh, so reloading the page does not vote again), else this session (the server's session id and a
    random token kept in its state). Neither can be chosen by another client."""
    browser = _browser_secret()
    if browser:
        return f"browser:{browser}"
    import secrets
    from streamlit.runtime.scriptrunner import get_script_run_ctx
    ctx = get_script_run_ctx()
    token = st.session_state.setdefault("_turing_voter", secrets.token_hex(8))
    return f"session:{ctx.session_id if ctx is not None else 'local'}:{token}"


def _browser_secret() -> str:
    """The token in the ``_streamlit_xsrf`` cookie, unmasked (Tornado's "2|mask|masked token|time" format: the
    mask changes on every page load, the token does not); "" without one (XSRF protection off, AppTest)."""
    try:
        value = st.context.cookies.get("_streamlit_xsrf") or ""
    except Exception:  # noqa: BLE001  (no browser context)
        return ""
    parts = value.split("|")
    if len(parts) == 4 and parts[0] == "2":
        try:
            mask, masked = bytes.fromhex(parts[1]), bytes.fromhex(parts[2])
        except ValueError:
            return ""
        if len(mask) == 4 and masked:
            return bytes(b ^ mask[i % 4] for i, b in enumerate(masked)).hex()
    return ""


def show_image(image: np.ndarray) -> None:
    st.image(upscale(image, IMAGE_PX), width="content")


def tiles(images: list, caption: str, size: int = 96) -> None:
    """A row of small images (the ones that fooled, the ones called wrongly)."""
    if images:
        st.caption(caption)
        st.image([upscale(im, size) for im in images], width=size)


@st.cache_resource(max_entries=2, show_spinner="Loading the checkpoint's training images…")
def _checkpoint_data(path: str, mtime: float):
    from gan_core.checkpoint import read_meta
    from gan_core.config import Config
    from gan_core.data import load_dataset
    return load_dataset(Config.from_json(read_meta(path)["config"]).data)


def source_picker(run) -> Optional[tuple[Callable, Callable, str]]:
    """The generator to test: the current run's (frozen at the round's start) or a checkpoint's. Returns
    (view getter, real-data getter, a label) or None after saying why not."""
    from ui.sources import checkpoint_picker
    choice = st.radio("Generator", ("Current run", "Checkpoint"), horizontal=True, key="turing_source",
                      help="The images of a round come from one frozen copy of the generator, made when the round "
                           "starts; real images from the same training set.")
    if choice == "Current run":
        return run.generator_view, (lambda: run.trainer.data), f"run {run.id}"
    picked = checkpoint_picker()
    if picked is None:
        return None
    get_view, key = picked
    path = st.session_state.get("ckpt_path") or st.session_state.get("ckpt_pick")

    def data():
        if get_view().dataset == run.trainer.cfg.data.dataset:
            return run.trainer.data
        file = Path(path) / "checkpoint.safetensors"
        return _checkpoint_data(str(path), file.stat().st_mtime if file.exists() else 0.0)
    return get_view, data, f"checkpoint {Path(str(path)).name}"


def make_items(get_view, get_data, n: int, seed: int):
    """A round's images, or None after showing the error (no image data, a collapsed generator...)."""
    try:
        view = get_view()
        return view.step, draw_items(view, get_data(), n, seed)
    except (ValueError, OSError, RuntimeError) as exc:
        st.error(f"No round: {plain(exc)}", icon=":material/error:")
        return None


# ---- one player ------------------------------------------------------------------------------------------
def _solo_start(get_view, get_data, label: str) -> None:
    n = int(st.session_state.get("turing_n", SIZES[0]))
    seed = int(np.random.default_rng().integers(0, 2**31 - 1))
    made = make_items(get_view, get_data, n, seed)
    if made is None:
        return
    step, items = made
    st.session_state[SOLO] = {"items": items, "answers": [], "step": step, "label": label}


def _solo_answer(item_id: str, answer: str) -> None:
    game = st.session_state.get(SOLO)
    if not game or answer not in ANSWERS:
        return
    i = len(game["answers"])
    if i < len(game["items"]) and game["items"][i].id == item_id:  # a stale or repeated click counts nothing
        game["answers"].append(answer)


def vote_buttons(key: str, item_id: str, on_click, args=()) -> None:
    left, right = st.columns(2)
    left.button("Real", key=f"{key}_real_{item_id}", on_click=on_click, args=(*args, item_id, "real"),
                icon=":material/photo_camera:", width="stretch", type="primary")
    right.button("Fake", key=f"{key}_fake_{item_id}", on_click=on_click, args=(*args, item_id, "fake"),
                 icon=":material/smart_toy:", width="stretch", type="primary")


def solo_panel(run) -> None:
    """A round for this player alone: one image at a time, then the score with its interval."""
    game = st.session_state.get(SOLO)
    if game is None:
        picked = source_picker(run)
        if picked is None:
            return
        get_view, get_data, label = picked
        left, right = st.columns([1, 2])
        left.selectbox("Images in the round", SIZES, key="turing_n",
                       help="Half are real training images, half generated, in random order; none is shown twice.")
        right.space("small")
        right.button("Start a round", key="turing_solo_start", icon=":material/play_arrow:", type="primary",
                     on_click=_solo_start, args=(get_view, get_data, label))
        return
    items, answers = game["items"], game["answers"]
    if len(answers) < len(items):
        _solo_question(game, items, answers)
        return
    _solo_result(game)


def _solo_question(game: dict, items: list, answers: list) -> None:
    i = len(answers)
    item = items[i]
    st.progress(i / len(items), text=f"Image {i + 1} of {len(items)} · generator of {game['label']} at step "
                                     f"{game['step']:,} · real or generated?")
    left, right = st.columns(COLUMNS)
    with left:
        show_image(item.image)
    with right:
        vote_buttons("solo", item.id, _solo_answer)
        if i:
            prev, said = items[i - 1], answers[i - 1]
            right_or_wrong = "right" if prev.truth == said else (
                "it fooled you" if prev.truth == "fake" else "you called a real one fake")
            st.caption(f"The last image was {'real' if prev.truth == 'real' else 'generated'}: {right_or_wrong}.")
            s = score([it.truth for it in items], answers)
            st.caption(f"So far {s['correct']} of {s['n']} right.")
        st.button("Give up this round", key="turing_solo_quit", on_click=lambda: st.session_state.pop(SOLO, None))


def _solo_result(game: dict) -> None:
    items, answers = game["items"], game["answers"]
    s = score([it.truth for it in items], answers)
    lo, hi = s["ci"]
    st.subheader(f"Your error rate (HYPE∞): {s['error_rate']:.0%}")
    a, b, c = st.columns(3)
    a.metric("Error rate, 95% interval", f"{lo:.0%} – {hi:.0%}",
             help="HYPE∞ (Zhou et al. 2019): the share of images judged wrongly, over equal numbers of real and "
                  "generated ones; 50% is chance (you cannot tell), 0% is perfect. Wilson interval over the images.")
    b.metric("Generated images you took for real", f"{s['fooled']} of {s['n_fake']}")
    c.metric("Real images you called fake", f"{s['missed']} of {s['n_real']}")
    st.caption(verdict(s["error_rate"], lo, hi) + f" Generator of {game['label']} at step {game['step']:,}.")
    tiles([it.image for it, a in zip(items, answers) if it.truth == "fake" and a == "real"],
          "Generated images that fooled you")
    tiles([it.image for it, a in zip(items, answers) if it.truth == "real" and a == "fake"],
          "Real images you called fake")
    st.button("Play another round", key="turing_solo_again", icon=":material/replay:", type="primary",
              on_click=lambda: st.session_state.pop(SOLO, None))


def verdict(rate: float, lo: float, hi: float) -> str:
    if not np.isfinite(rate):
        return "No answers yet."
    if lo <= 0.5 <= hi:
        return ("Chance (50%) is inside the interval: these answers cannot be told from guessing. A longer round "
                "narrows the interval.")
    if hi < 0.5:
        return "Better than chance: the generated images can still be told from real ones."
    return "Worse than chance: real images were taken for generated more often than not."
