"""Pages of depots and the stock ledger."""

from django.urls import path

from frontline.resources.views import depots

urlpatterns = [
    path("depots/<int:pk>/", depots.depot_detail, name="depot_detail"),
]
