"""Summit Atlas: Russia's summits, partnerships and trade flows in the Asia-Pacific and Africa.

Pure modules (schema, data, geo, filters, layers, charts, export, dataset, cli) hold all logic;
only `dashboard.ui` imports Streamlit.
"""

#: The version cited in downloads when `git describe` cannot say (no git, or not a checkout).
__version__ = "0.1.0"
