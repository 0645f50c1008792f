"""Summit Atlas: Russia's summits, partnerships and trade flows in the Asia-Pacific and Africa.

Pure modules (schema, data, geo, filters, layers, charts, export, dataset, cli) hold all logic;
only `dashboard.ui` imports Streamlit.
"""
