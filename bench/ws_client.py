"""A viewer that does not obey the page: a raw client of Streamlit's websocket protocol (``/_stcore/stream``,
binary ``BackMsg`` / ``ForwardMsg`` protobufs from ``streamlit.proto``), as a hostile student could write.
Used by the lecture-mode attack tests (tests/helpers_ws.py) and by bench/viewer_starvation.py.

    with ProtocolClient(url) as c:
        c.rerun(query="run=abc")          # what the browser sends on page load
        c.wait_finished()
        c.send_clear_cache()              # BackMsg.clear_cache: Streamlit does not gate it
        c.rerun(widgets={"<widget id>": True})   # a forged click on a (disabled) button
        c.rerun(widgets={"<trigger id>": JsonTrigger("strokes", {...})})   # a custom component's event
"""
from __future__ import annotations

import json
import threading
import time
from typing import Optional

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates
from websockets.sync.client import connect


class JsonTrigger:
    """A forged ``st.components.v2`` event: the JSON trigger value the component's frontend would send (its
    widget id is ``streamlit.components.v2.bidi_component.main._make_trigger_id(<component id>, "events")``)."""

    def __init__(self, event: str, value):
        self.payload = json.dumps([{"event": event, "value": value}])


class JsonValue:
    """A JSON widget value, e.g. an ``st.components.v2`` component's state (the browser sends it, "{}" when
    empty, beside every event of that component)."""

    def __init__(self, value):
        self.payload = json.dumps(value)


class ProtocolClient:
    def __init__(self, http_url: str, host: Optional[str] = None, origin: Optional[str] = None,
                 timeout: float = 30.0):
        from urllib.parse import urlsplit
        server = urlsplit(http_url)
        sock = None
        if host:  # send another Host header (the name a DNS-rebinding page would use) to the same server
            import socket
            sock = socket.create_connection((server.hostname, server.port), timeout=timeout)
        ws_url = f"ws://{host or server.netloc}/_stcore/stream"
        self.ws = connect(ws_url, sock=sock, subprotocols=["streamlit"], open_timeout=timeout, max_size=None,
                          additional_headers={"Origin": origin} if origin else None)
        self.timeout = timeout
        self.messages: list[ForwardMsg] = []
        self.finished = 0  # script runs the server finished for this session
        self.widget_ids: dict[str, str] = {}  # widget key (or label, for widgets without a key) -> element id
        self.session_id: Optional[str] = None
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    # ---- sending ------------------------------------------------------------------------------------------
    def send(self, msg: BackMsg) -> None:
        self.ws.send(msg.SerializeToString())

    def rerun(self, query: str = "", widgets: Optional[dict] = None, page_hash: str = "",
              fragment_id: str = "", page: str = "") -> None:
        """Run the script (``page``: a page's URL path, e.g. "turing"; default the main page)."""
        msg = BackMsg()
        msg.rerun_script.query_string = query
        msg.rerun_script.page_script_hash = page_hash
        msg.rerun_script.page_name = page
        if fragment_id:
            msg.rerun_script.fragment_id = fragment_id
        states = WidgetStates()
        for wid, value in (widgets or {}).items():
            ws = WidgetState(id=wid)
            if isinstance(value, JsonTrigger):
                ws.json_trigger_value = value.payload
            elif isinstance(value, JsonValue):
                ws.json_value = value.payload
            elif isinstance(value, bool):
                ws.trigger_value = value
            elif isinstance(value, int):
                ws.int_value = value
            elif isinstance(value, float):
                ws.double_value = value
            else:
                ws.string_value = str(value)
            states.widgets.append(ws)
        msg.rerun_script.widget_states.CopyFrom(states)
        self.send(msg)

    def send_clear_cache(self) -> None:
        msg = BackMsg()
        msg.clear_cache = True
        self.send(msg)

    # ---- receiving ----------------------------------------------------------------------------------------
    def _read(self) -> None:
        try:
            for data in self.ws:
                fm = ForwardMsg()
                fm.ParseFromString(data)
                with self._lock:
                    self.messages.append(fm)
                    kind = fm.WhichOneof("type")
                    if kind == "script_finished":
                        self.finished += 1
                    elif kind == "new_session":
                        self.session_id = fm.new_session.initialize.session_id or self.session_id
                    elif kind == "delta":
                        self._learn_widget(fm)
                if len(self.messages) > 5000:
                    with self._lock:
                        del self.messages[:4000]
        except Exception:  # noqa: BLE001  (the connection closed)
            pass

    def _learn_widget(self, fm: ForwardMsg) -> None:
        el = fm.delta.new_element
        kind = el.WhichOneof("type")
        if kind is None:
            return
        inner = getattr(el, kind)
        wid = getattr(inner, "id", "")
        if isinstance(wid, str) and wid and "-" in wid:
            # element ids end with the user key: "$$ID-<hash>-<key>" ("None" without one: use the label)
            key = wid.rsplit("-", 1)[-1]
            self.widget_ids[key if key != "None" else getattr(inner, "label", key)] = wid

    def texts(self) -> list[str]:
        """Every markdown/text body the server sent this client (what its page would show)."""
        out = []
        with self._lock:
            for fm in self.messages:
                if fm.WhichOneof("type") != "delta":
                    continue
                el = fm.delta.new_element
                kind = el.WhichOneof("type")
                if kind in ("markdown", "text", "alert", "toast", "exception", "code"):
                    body = getattr(el, kind)
                    out.append(getattr(body, "body", "") or getattr(body, "message", ""))
                elif kind == "metric":
                    out.append(f"{el.metric.label}: {el.metric.body}")
        return out

    def latest_step(self) -> Optional[int]:
        """The newest value of the Train page's Step metric this client was sent."""
        for text in reversed(self.texts()):
            if text.startswith("Step: "):
                return int(text[6:].replace(",", ""))
        return None

    def wait_finished(self, count: int = 1, timeout: Optional[float] = None) -> None:
        """Wait until the server finished ``count`` more script runs for this session than before."""
        target = self.finished + count
        deadline = time.monotonic() + (timeout or self.timeout)
        while self.finished < target:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the server finished {self.finished} of {target} script runs")
            time.sleep(0.02)

    def sign_in(self, token: str, wait: bool = True) -> None:
        """Type the presenter token and press "Enter presenter mode" (a form: both go in one rerun)."""
        self.rerun(widgets={self.widget_ids["presenter_entry"]: token,
                            self.widget_ids["Enter presenter mode"]: True})
        if wait:
            self.wait_finished()

    def click(self, key: str, query: str = "", page: str = "") -> None:
        self.rerun(query=query, widgets={self.widget_ids[key]: True}, page=page)
        self.wait_finished()

    def close(self) -> None:
        try:
            self.ws.close()
        except Exception:  # noqa: BLE001
            pass

    def __enter__(self) -> "ProtocolClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
