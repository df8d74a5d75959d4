"""Pages of community patrols."""

urlpatterns: list = []
