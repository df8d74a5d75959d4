"""Stations run on intranets: no page may load anything from another host."""

import re

import pytest

EXTERNAL = re.compile(r"""(?:src|href)=["'](?:https?:)?//""", re.IGNORECASE)


@pytest.mark.parametrize(
    "url", ["/", "/regions/", "/people/", "/organizations/", "/tokens/", "/api/v1/docs"]
)
def test_pages_reference_no_external_host(world, url):
    response = world.client_for(world.parent).get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert not EXTERNAL.search(html), EXTERNAL.findall(html)


def test_login_page_references_no_external_host(client, db):
    html = client.get("/login/").content.decode()
    assert not EXTERNAL.search(html)


def test_vendor_libraries_are_served_locally(client, db):
    for path in (
        "/static/vendor/htmx/htmx.min.js",
        "/static/vendor/echarts/echarts.min.js",
        "/static/vendor/leaflet/leaflet.js",
        "/static/vendor/markercluster/leaflet.markercluster.js",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
