"""Pages of community buildings."""

urlpatterns: list = []
