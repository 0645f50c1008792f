"""Page script for st.navigation: draws the sources page with this run's context."""

from dashboard.ui import sources_page
from dashboard.ui.context import current_context

sources_page.render(current_context())
