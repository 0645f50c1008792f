"""The Streamlit layer: cached loaders, the sidebar, and one module per page. Orchestration only."""
