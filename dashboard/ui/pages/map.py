"""Page script for st.navigation: draws the map page with this run's context."""

from dashboard.ui import map_page
from dashboard.ui.context import current_context

map_page.render(current_context())
