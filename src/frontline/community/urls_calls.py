"""Pages of community calls."""

urlpatterns: list = []
