"""Pages of shelters."""

urlpatterns: list = []
