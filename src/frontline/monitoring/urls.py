"""Pages of the monitoring app."""

urlpatterns: list = []
