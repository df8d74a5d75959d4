"""Pages of community households."""

urlpatterns: list = []
