"""Lecture mode: when a presenter token is configured, only sessions that entered it control runs.

The token comes from the environment variable ``GAN_PLAYGROUND_PRESENTER_TOKEN`` or from Streamlit
secrets (``presenter_token`` in ``.streamlit/secrets.toml``). Without one the app is a local single-user
tool and every session may control. With one, other sessions (the class) watch the live run read-only:
controls are drawn disabled, and every action checks ``can_control()`` again on the server, so a
crafted request changes nothing either.
"""
from __future__ import annotations

import hmac
import os
import threading
import time
from typing import Optional

import streamlit as st

ENV_TOKEN = "GAN_PLAYGROUND_PRESENTER_TOKEN"
SECRET_KEY = "presenter_token"
WRONG_TOKEN_DELAY_S = 1.0  # slows guessing down; the presenter rarely mistypes twice
VIEWER_NOTE = "Lecture mode: the presenter controls this run; you are watching it live."


def presenter_token() -> Optional[str]:
    """The configured token, or None when lecture mode is off."""
    token = os.environ.get(ENV_TOKEN, "").strip()
    if token:
        return token
    try:
        value = st.secrets.get(SECRET_KEY)
    except Exception:  # no secrets.toml, or an unreadable one: lecture mode stays off  # noqa: BLE001
        return None
    return str(value).strip() or None if value is not None else None


def lecture_mode() -> bool:
    return presenter_token() is not None


def can_control() -> bool:
    """May this session start, stop or change runs?"""
    token = presenter_token()
    if token is None:
        return True
    entered = st.session_state.get("_presenter_token")
    return isinstance(entered, str) and hmac.compare_digest(entered.encode(), token.encode())


def refuse() -> bool:
    """For actions: True (and an explanation stored for the page) when this session may not control."""
    if can_control():
        return False
    st.session_state["_action_error"] = VIEWER_NOTE
    return True


class Attempts:
    """Token tries per client address (process-wide): one try per ``WRONG_TOKEN_DELAY_S`` from an address
    after a wrong one, so parallel sessions from one laptop guess no faster than one."""

    def __init__(self):
        self._lock = threading.Lock()
        self._next: dict[str, float] = {}

    def wait_s(self, address: str) -> float:
        with self._lock:
            return max(0.0, self._next.get(address, 0.0) - time.monotonic())

    def failed(self, address: str) -> None:
        with self._lock:
            if len(self._next) > 10_000:
                self._next.clear()
            now = time.monotonic()
            self._next[address] = max(self._next.get(address, now), now) + WRONG_TOKEN_DELAY_S


ATTEMPTS = Attempts()


def _address() -> str:
    try:
        return st.context.ip_address or "local"
    except Exception:  # noqa: BLE001  (no browser context, e.g. under AppTest)
        return "local"


def _enter() -> None:
    token = presenter_token()
    entered = st.session_state.get("presenter_entry", "")
    st.session_state["presenter_entry"] = ""
    address = _address()
    wait = ATTEMPTS.wait_s(address)
    if wait > 0:  # another try from this address is still cooling down: not even checked
        st.session_state["_presenter_error"] = f"Too many tries from your address; wait {wait:.0f} s."
        return
    if token is not None and hmac.compare_digest(entered.encode(), token.encode()):
        st.session_state["_presenter_token"] = entered
        st.session_state.pop("_presenter_error", None)
    else:
        ATTEMPTS.failed(address)
        time.sleep(WRONG_TOKEN_DELAY_S)
        st.session_state["_presenter_error"] = "That is not the presenter token."


def _leave() -> None:
    st.session_state.pop("_presenter_token", None)


def presenter_box() -> None:
    """Sign in as presenter, or leave (lecture mode only): a small popover wherever it is drawn."""
    if not lecture_mode():
        return
    if can_control():
        with st.popover("Presenter", icon=":material/co_present:", width="stretch"):
            st.success("Presenter: you control the runs.", icon=":material/co_present:")
            st.button("Leave presenter mode", key="btn_leave_presenter", on_click=_leave)
        return
    with st.popover("Presenter sign-in", icon=":material/lock:", width="stretch"):
        st.caption("Lecture mode: watching read-only.")
        with st.form("presenter_form", clear_on_submit=False, border=False):
            st.text_input("Presenter token", type="password", key="presenter_entry")
            st.form_submit_button("Enter presenter mode", on_click=_enter)
        if st.session_state.get("_presenter_error"):
            st.error(st.session_state["_presenter_error"])
