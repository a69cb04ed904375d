"""What a lecture-mode viewer can cost the server, bounded where their messages arrive.

Streamlit handles every ``BackMsg`` a websocket client sends, and a viewer is not a browser that obeys
the page: a few lines of Python can send ``rerun_script`` as fast as the socket takes it (eight such
clients took a ring8 run from 736 to 25 steps/s), ``clear_cache`` (Streamlit does not gate it) or upload
files where the page has no uploader. So, in lecture mode, for sessions that have not entered the
presenter token:

- reruns (full and fragment) pass a token bucket per session and one per client address; what is over is
  dropped before a script thread is woken (a real page refreshes its live panel 2-3 times a second, well
  inside the allowance); a connection that keeps sending far over it is closed, and for a while every
  other viewer connection from that address is closed at its first message (parsing a flood of messages
  is itself work the training thread would pay for);
- ``clear_cache`` is dropped (the runs do not live in a cache anyway: ``ui.runs``);
- upload requests and uploads are refused, and every session's stored uploads are capped in total;
- the script threads of viewer sessions run at a lower CPU priority than the training thread.

``install()`` patches Streamlit's ``Runtime.handle_backmsg`` and the uploaded-file manager once per process
(app.py calls it first thing). The presenter and the local user (no token configured) are never limited.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from gan_core.data.limits import UploadLimits

LOG = logging.getLogger("gan_playground.guard")
VIEWER_NICENESS = 10  # the training thread runs at +5 (gan_core.run_loop): viewers' pages yield to it


@dataclass
class Bucket:
    """A token bucket: ``burst`` at once, refilled at ``rate`` per second."""
    burst: float
    rate: float
    tokens: float = -1.0
    at: float = 0.0

    def take(self, now: float) -> bool:
        if self.tokens < 0:
            self.tokens, self.at = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class RerunLimiter:
    """Per-session and per-address buckets (bounded in number: the oldest are forgotten), and the
    addresses whose connections are closed on sight for a while after flooding."""

    def __init__(self, session_burst=10.0, session_rate=4.0, address_burst=40.0, address_rate=12.0,
                 keep: int = 4096, flood_drops: int = 40, ban_s: float = 30.0):
        self._lock = threading.Lock()
        self._sessions: OrderedDict[str, Bucket] = OrderedDict()
        self._addresses: OrderedDict[str, Bucket] = OrderedDict()
        self._drops: OrderedDict[str, Bucket] = OrderedDict()  # drops allowed before a connection is closed
        self._banned: dict[str, float] = {}
        self._spec = (session_burst, session_rate, address_burst, address_rate)
        self._flood = (float(flood_drops), flood_drops / 10.0)
        self._ban_s = ban_s
        self._keep = keep
        self.dropped = 0
        self.closed = 0

    def banned(self, address, now: float | None = None) -> bool:
        """Is ``address`` shut out? A message from it while it is renews the ban: an address is let back
        ``ban_s`` after it stopped sending."""
        now = time.monotonic() if now is None else now
        with self._lock:
            until = self._banned.get(str(address))
            if until is None:
                return False
            if until < now:
                del self._banned[str(address)]
                return False
            self._banned[str(address)] = now + self._ban_s
            return True

    def flooding(self, session_id: str, address, now: float | None = None) -> bool:
        """Count a dropped message; True when the session has dropped so many that it is flooding (its
        address is then banned for ``ban_s``)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if self._bucket(self._drops, session_id, *self._flood).take(now):
                return False
            if len(self._banned) > self._keep:
                self._banned.clear()
            self._banned[str(address)] = now + self._ban_s
            self.closed += 1
            return True

    def _bucket(self, table: OrderedDict, key: str, burst: float, rate: float) -> Bucket:
        b = table.get(key)
        if b is None:
            b = table[key] = Bucket(burst, rate)
            while len(table) > self._keep:
                table.popitem(last=False)
        table.move_to_end(key)
        return b

    def allow(self, session_id: str, address, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        sb, sr, ab, ar = self._spec
        with self._lock:
            ok = (self._bucket(self._sessions, session_id, sb, sr).take(now)
                  and self._bucket(self._addresses, str(address), ab, ar).take(now))
            if not ok:
                self.dropped += 1
            return ok


FLOOD_BAN_ENV = "GAN_PLAYGROUND_FLOOD_BAN_S"  # how long an address that flooded is shut out (default 30 s)
ADDRESS_RATE_ENV = "GAN_PLAYGROUND_VIEWER_RERUNS_PER_S"  # script runs per second for all viewers of one address
LIMITER = RerunLimiter(address_burst=8.0, address_rate=float(os.environ.get(ADDRESS_RATE_ENV) or 4.0),
                       ban_s=float(os.environ.get(FLOOD_BAN_ENV) or 30.0))
_TOKEN_CACHE: dict = {"at": -1e9, "token": None}


def _token():
    """The presenter token (cached for a few seconds: this runs for every message)."""
    now = time.monotonic()
    if now - _TOKEN_CACHE["at"] > 5.0:
        from ui.lecture import presenter_token
        _TOKEN_CACHE.update(at=now, token=presenter_token())
    return _TOKEN_CACHE["token"]


def session_controls(session_state) -> bool:
    """May the session with this SessionState control runs? (Mirrors ui.lecture.can_control, off-thread.)"""
    import hmac
    token = _token()
    if token is None:
        return True
    try:
        entered = session_state["_presenter_token"] if "_presenter_token" in session_state else None
    except Exception:  # noqa: BLE001  (a session being torn down)
        return False
    return isinstance(entered, str) and hmac.compare_digest(entered.encode(), token.encode())


def _session_state(runtime, session_id):
    info = runtime._session_mgr.get_active_session_info(session_id)  # noqa: SLF001
    return None if info is None else info.session._session_state  # noqa: SLF001


def _address(client) -> str:
    try:
        return client.client_context.remote_ip or "local"
    except AttributeError:
        return "unknown"


def _close(client) -> None:
    """Close a viewer's websocket (we are on the server's event loop thread)."""
    import asyncio
    ws = getattr(client, "_websocket", None)
    if ws is None:
        return
    transport = _transport(ws)
    if transport is not None:
        # drop the TCP connection now: a polite close would let uvicorn keep reading (and discarding) a
        # flood for its 10 s close timeout, while the ban, renewed only by delivered messages, ran out
        transport.abort()
        return
    try:
        asyncio.get_running_loop().create_task(ws.close(code=1008))
    except RuntimeError:  # no running loop (not the bundled server): nothing to close
        pass


def _transport(ws):
    """The asyncio transport under a Starlette websocket served by uvicorn: the ``send`` the app holds is
    uvicorn's protocol method, wrapped in Starlette's closures (None when it cannot be found)."""
    return _owner_transport(getattr(ws, "_send", None), 0)


def _owner_transport(fn, depth: int):
    if fn is None or depth > 6:
        return None
    transport = getattr(getattr(fn, "__self__", None), "transport", None)
    if transport is not None and hasattr(transport, "abort"):
        return transport
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            inner = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        if callable(inner):
            found = _owner_transport(inner, depth + 1)
            if found is not None:
                return found
    return None


def install() -> None:
    """Patch Streamlit once per process (idempotent)."""
    from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
    from streamlit.runtime.runtime import Runtime
    if getattr(Runtime.handle_backmsg, "_gan_guard", False):
        return
    original = Runtime.handle_backmsg

    def handle_backmsg(self, session_id, msg, *, client=None):
        kind = msg.WhichOneof("type")
        if kind in ("rerun_script", "clear_cache", "file_urls_request") and _token() is not None:
            state = _session_state(self, session_id)
            if state is not None and not session_controls(state):
                address = _address(client)
                if LIMITER.banned(address):
                    _close(client)
                    return
                if kind == "clear_cache" or kind == "file_urls_request":
                    LOG.warning("dropped %s from viewer session %s", kind, session_id)
                    return
                if not LIMITER.allow(session_id, address):
                    if LIMITER.flooding(session_id, address):
                        LOG.warning("closing flooding viewer connections from %s", address)
                        _close(client)
                    return
        return original(self, session_id, msg, client=client)

    handle_backmsg._gan_guard = True  # type: ignore[attr-defined]
    Runtime.handle_backmsg = handle_backmsg

    original_add = MemoryUploadedFileManager.add_file

    def add_file(self, session_id, file):
        from starlette.exceptions import HTTPException
        from streamlit.runtime import Runtime as _Runtime
        state = _session_state(_Runtime.instance(), session_id) if _Runtime.exists() else None
        if _token() is not None and (state is None or not session_controls(state)):
            raise HTTPException(status_code=403, detail="Lecture mode: viewers cannot upload files.")
        limit = UploadLimits.from_env().max_upload_mb * 2**20
        with self._lock:  # noqa: SLF001
            held = sum(len(f.data) for fid, f in self.file_storage[session_id].items() if fid != file.file_id)
        if held + len(file.data) > limit:
            raise HTTPException(status_code=413, detail=f"Uploads of this session would exceed "
                                                        f"{limit // 2**20} MB (GAN_PLAYGROUND_MAX_UPLOAD_MB).")
        return original_add(self, session_id, file)

    MemoryUploadedFileManager.add_file = add_file


def lower_viewer_priority(viewer: bool) -> None:
    """Run this script thread below the training thread when the session is a viewer (Linux only)."""
    if not viewer:
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), VIEWER_NICENESS)
    except (AttributeError, OSError):
        pass
