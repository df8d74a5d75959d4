"""The grid pages and the grid worker's day."""

from django.urls import path

from frontline.community.views import grids

urlpatterns = [
    path("grids/", grids.grid_list, name="grid_list"),
    path("grids/<str:code>/", grids.grid_detail, name="grid_detail"),
    path("my-day/", grids.my_day, name="my_day"),
]
