"""Pages of teams."""

urlpatterns: list = []
