"""Streamlit glue shared by the pages: run registry, controls, charts and the live panel.

Importing it (every page does) also closes a back door of Streamlit's old multipage mode: a folder named
``pages/`` next to app.py makes Streamlit (1.67) run a page's script *directly*, without app.py, for sessions
that open a page URL (``/turing``, ``/watch``) before any session of the process has run app.py's
``st.navigation`` — after a restart, every reconnecting tab of a class. Such a run would skip app.py's lecture
guards and page setup. So the first time this package is imported in such a run, the old mode is switched off
for the process and the run starts again, through app.py.
"""


import os


def _leave_v1_multipage() -> None:
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # another Streamlit layout: nothing to switch off
        return
    if not PagesManager.uses_pages_directory:
        return
    from streamlit.runtime.scriptrunner import get_script_run_ctx
    ctx = get_script_run_ctx()
    manager = getattr(ctx, "pages_manager", None)
    if manager is None:
        return
    page = manager.get_pages().get(manager.current_page_script_hash) or {}
    running = str(page.get("script_path") or manager.main_script_path)
    if os.path.realpath(running) == os.path.realpath(manager.main_script_path):
        return  # app.py itself is running: its st.navigation switches the old mode off
    PagesManager.uses_pages_directory = False  # what st.navigation sets once app.py has run
    import streamlit as st
    st.rerun()


_leave_v1_multipage()
