"""Page script for st.navigation: draws the timeline page with this run's context."""

from dashboard.ui import timeline_page
from dashboard.ui.context import current_context

timeline_page.render(current_context())
