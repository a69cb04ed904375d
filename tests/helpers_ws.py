"""Raw websocket clients of Streamlit's protocol for the attack tests: see bench/ws_client.py (shared with
bench/viewer_starvation.py, which must not import test helpers)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from ws_client import JsonTrigger, JsonValue, ProtocolClient  # noqa: E402,F401
