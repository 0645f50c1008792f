"""Page script for st.navigation: draws the data page with this run's context."""

from dashboard.ui import data_page
from dashboard.ui.context import current_context

data_page.render(current_context())
