"""Streamlit glue shared by the pages: run registry, controls, charts and the live panel."""
