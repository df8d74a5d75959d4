"""The map: coordinate conversions, the layer registry and API, the page."""

import math
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st

from frontline.core import services
from frontline.core.geo import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    outside_china,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from frontline.core.maps import (
    MapLayer,
    geometry_cache,
    level_for_zoom,
    point_feature,
    register_layer,
    tolerance_for_zoom,
    unregister_layer,
)
from frontline.core.models import OrganizationKind, RegionLevel
from frontline.core.testing import VISIBLE, make_region

# --- coordinate conversions ------------------------------------------------------------------


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Distance between two lon/lat points (equirectangular; plenty for sub-metre checks)."""
    lat = math.radians((a[1] + b[1]) / 2)
    dx = math.radians(a[0] - b[0]) * math.cos(lat) * 6_371_000
    dy = math.radians(a[1] - b[1]) * 6_371_000
    return math.hypot(dx, dy)


# Published pairs (lon, lat): the eviltransform test points (Shanghai, Shenzhen, Beijing) and
# the coordtransform README sample (116.404, 39.915).
WGS_GCJ_PAIRS = [
    ((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),
    ((113.912316, 22.543847), (113.9171764808363, 22.540796131694766)),
    ((116.377817, 39.911954), (116.38404722455657, 39.91334545536069)),
    ((116.404, 39.915), (116.41024449916938, 39.91640428150164)),
]
# coordtransform's README: gcj02tobd09(116.404, 39.915) and bd09togcj02(116.404, 39.915).
GCJ_TO_BD = ((116.404, 39.915), (116.41036949371029, 39.92133699351021))
BD_TO_GCJ = ((116.404, 39.915), (116.39762729119315, 39.90865673957631))


def test_gcj02_bd09_published_pairs():
    assert gcj02_to_bd09(*GCJ_TO_BD[0]) == pytest.approx(GCJ_TO_BD[1], abs=1e-9)
    assert bd09_to_gcj02(*BD_TO_GCJ[0]) == pytest.approx(BD_TO_GCJ[1], abs=1e-9)
    # The published BD-09 inverse is itself approximate, to a few centimetres.
    assert metres(bd09_to_gcj02(*GCJ_TO_BD[1]), GCJ_TO_BD[0]) < 0.1


def test_tiananmen_in_baidu_coordinates_is_tiananmen():
    # Baidu's own samples centre on Tiananmen at BD-09 (116.404, 39.915); in WGS-84 the
    # square's flagpole stands at about (116.3913, 39.9055), a few hundred metres away.
    wgs = bd09_to_wgs84(116.404, 39.915)
    assert metres(wgs, (116.3913, 39.9055)) < 600
    assert metres(wgs84_to_bd09(*wgs), (116.404, 39.915)) < 0.5


def test_points_outside_china_are_left_alone():
    for point in [(2.2945, 48.8584), (-74.0445, 40.6892), (151.2153, -33.8568)]:
        assert outside_china(*point)
        assert wgs84_to_gcj02(*point) == point
        assert gcj02_to_wgs84(*point) == point


def test_to_wgs84_dispatches_by_system():
    point = (120.5, 30.1)
    assert to_wgs84(*point, "wgs84") == point
    assert metres(to_wgs84(*wgs84_to_gcj02(*point), "gcj02"), point) < 0.01
    assert metres(to_wgs84(*wgs84_to_bd09(*point), "bd09"), point) < 0.5
    with pytest.raises(ValueError):
        to_wgs84(*point, "epsg3857")


china_lon = st.floats(min_value=73.5, max_value=135.0, allow_nan=False)
china_lat = st.floats(min_value=18.0, max_value=53.5, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(lon=china_lon, lat=china_lat)
def test_gcj02_round_trip_is_within_half_a_metre(lon, lat):
    there = wgs84_to_gcj02(lon, lat)
    # The offset is real (tens to hundreds of metres) and the way back loses < 0.5 m.
    assert metres(there, (lon, lat)) > 1
    assert metres(gcj02_to_wgs84(*there), (lon, lat)) < 0.5


@settings(max_examples=200, deadline=None)
@given(lon=china_lon, lat=china_lat)
def test_bd09_round_trip_is_within_half_a_metre(lon, lat):
    assert metres(bd09_to_wgs84(*wgs84_to_bd09(lon, lat)), (lon, lat)) < 0.5


# --- helpers --------------------------------------------------------------------------------


def features(client, key, **params):
    response = client.get(f"/api/v1/map/layers/{key}", params)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/geo+json")
    return response.json()


def names(collection) -> set[str]:
    return {feature["properties"]["name"] for feature in collection["features"]}


def place(organization, lon, lat):
    type(organization).objects.filter(pk=organization.pk).update(lon=lon, lat=lat)
    organization.refresh_from_db()
    return organization


def make_org(region, name, lon, lat, kind=OrganizationKind.MICRO_FIRE_STATION):
    return services.create_organization(
        actor=None, name=name, kind=kind, region=region, lon=lon, lat=lat
    )


# --- layer list -----------------------------------------------------------------------------


def test_layer_list_describes_the_core_layers(world):
    response = world.client_for(world.same).get("/api/v1/map/layers")
    assert response.status_code == 200
    layers = {layer["key"]: layer for layer in response.json()}
    assert {"regions", "organizations"} <= set(layers)
    assert layers["regions"]["kind"] == "polygons" and layers["regions"]["name"] == "行政区划边界"
    assert layers["organizations"]["cluster"] is True
    assert layers["organizations"]["style"]["kinds"]["fire_brigade"]["glyph"] == "消"
    assert all(row["label"] for row in layers["organizations"]["legend"])


def test_anonymous_gets_401_on_every_map_endpoint(world):
    for url in ["/api/v1/map/layers", "/api/v1/map/layers/regions", "/api/v1/map/config"]:
        assert Client().get(url).status_code == 401


@pytest.fixture
def secret_layer():
    layer = register_layer(
        MapLayer(
            key="test-secret",
            name="机密图层",
            kind="points",
            queryset=lambda user, bbox, params: [(120.41, 30.01)],
            feature=lambda row, params: point_feature(*row, params, name="秘密点"),
            capability="view_personal_data",
        )
    )
    yield layer
    unregister_layer(layer.key)


def test_a_layer_needing_a_capability_is_hidden_without_it(world, secret_layer):
    # Station staff lack view_personal_data; the county administrator holds every capability.
    staff = world.client_for(world.same)
    assert "test-secret" not in {row["key"] for row in staff.get("/api/v1/map/layers").json()}
    assert staff.get("/api/v1/map/layers/test-secret").status_code == 404
    admin = world.client_for(world.parent)
    assert "test-secret" in {row["key"] for row in admin.get("/api/v1/map/layers").json()}
    assert names(features(admin, "test-secret")) == {"秘密点"}


def test_unknown_layer_is_404_with_chinese_message(world):
    response = world.client_for(world.parent).get("/api/v1/map/layers/nothing-here")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert "管辖范围" in response.json()["message"]


# --- regions layer: scope, levels, bbox -----------------------------------------------------


def test_grid_worker_gets_only_its_grid_boundary(world):
    client = world.client_for(world.grid_worker)
    for zoom in (8, 11, 13, 16):
        collection = features(client, "regions", zoom=zoom)
        assert names(collection) == {world.grid.name}, zoom
        (feature,) = collection["features"]
        assert feature["properties"]["scope_root"] is True
        assert feature["geometry"]["type"] == "Polygon"


def test_sibling_township_never_appears(world):
    client = world.client_for(world.same)
    for zoom in (8, 11, 13, 16):
        shown = names(features(client, "regions", zoom=zoom))
        assert world.sibling_township.name not in shown
        assert world.county.name not in shown and world.other_county.name not in shown
        assert world.township.name in shown


def test_zoom_chooses_the_level_of_detail(world):
    client = world.client_for(world.parent)
    county_view = features(client, "regions", zoom=10)
    assert names(county_view) == {
        world.county.name,
        world.township.name,
        world.sibling_township.name,
    }
    roles = {f["properties"]["name"]: f["properties"]["role"] for f in county_view["features"]}
    assert roles[world.county.name] == "outline" and roles[world.township.name] == "area"
    assert world.village.name in names(features(client, "regions", zoom=12))
    assert world.grid.name in names(features(client, "regions", zoom=15))
    assert level_for_zoom(10) == RegionLevel.TOWNSHIP
    assert level_for_zoom(14) == RegionLevel.GRID


def test_regions_are_filtered_by_bbox(world):
    client = world.client_for(world.parent)
    # A box inside the sibling township (120.50–120.60) only: the first township is out.
    shown = names(features(client, "regions", zoom=10, bbox="120.55,30.02,120.58,30.05"))
    assert world.sibling_township.name in shown and world.county.name in shown
    assert world.township.name not in shown


def test_region_features_carry_popup_link_and_label_point(world):
    collection = features(world.client_for(world.same), "regions", zoom=10)
    (township,) = [f for f in collection["features"] if f["id"] == world.township.code]
    props = township["properties"]
    assert props["url"] == f"/regions/{world.township.code}/"
    assert props["label_point"] == [pytest.approx(120.45), pytest.approx(30.05)]
    assert world.township.name in props["popup"] and props["url"] in props["popup"]
    assert props["level_label"] == "乡镇街道"


def test_boundaries_are_simplified_by_zoom_and_cached(world):
    # A circle with 720 vertices of ~30 m: at county zoom most of them are below a pixel.
    ring = [
        [120.42 + 0.01 * math.cos(t / 360 * math.pi), 30.02 + 0.01 * math.sin(t / 360 * math.pi)]
        for t in range(720)
    ]
    ring.append(ring[0])
    make_region(
        "330603001002",
        RegionLevel.VILLAGE,
        world.township,
        name="圆村",
        boundary={"type": "Polygon", "coordinates": [ring]},
    )
    client = world.client_for(world.parent)

    def vertex_count(zoom):
        collection = features(client, "regions", zoom=zoom)
        (feature,) = [f for f in collection["features"] if f["properties"]["name"] == "圆村"]
        return len(feature["geometry"]["coordinates"][0])

    geometry_cache.clear()
    coarse, fine = vertex_count(12), vertex_count(18)
    assert coarse < 200 < fine
    assert tolerance_for_zoom(18) == 0 and tolerance_for_zoom(12) > tolerance_for_zoom(13)
    cached = len(geometry_cache)
    assert cached > 0
    vertex_count(12)
    assert len(geometry_cache) == cached, "a second request reuses the simplified geometry"


def test_gcj02_output_is_shifted(world):
    client = world.client_for(world.grid_worker)
    plain = features(client, "regions", zoom=14)["features"][0]
    shifted = features(client, "regions", zoom=14, crs="gcj02")["features"][0]
    corner = plain["geometry"]["coordinates"][0][0]
    moved = shifted["geometry"]["coordinates"][0][0]
    assert moved == pytest.approx(list(wgs84_to_gcj02(*corner)), abs=1e-6)
    assert metres(moved, corner) > 100


# --- organizations layer ---------------------------------------------------------------------


def test_organizations_layer_follows_the_authorization_matrix(world):
    make_org(world.village, "州山村微型消防站", 120.41, 30.01)
    url = "/api/v1/map/layers/organizations"
    for persona, user in world.personas().items():
        shown = "州山村微型消防站" in names(features(world.client_for(user), "organizations"))
        assert shown == VISIBLE[persona], persona
    assert Client().get(url).status_code == 401


def test_organization_features_have_icon_popup_and_link(world):
    org = make_org(world.village, "州山村微型消防站", 120.41, 30.01)
    make_org(world.village, "没有坐标的单位", None, None)
    collection = features(world.client_for(world.same), "organizations")
    assert names(collection) == {"州山村微型消防站"}, "units without coordinates stay off the map"
    (feature,) = collection["features"]
    assert feature["geometry"] == {"type": "Point", "coordinates": [120.41, 30.01]}
    props = feature["properties"]
    assert props["glyph"] == "微" and props["kind_label"] == "微型消防站"
    assert props["url"] == f"/organizations/{org.pk}/"
    assert "州山村微型消防站" in props["popup"] and world.village.name in props["popup"]


def test_organizations_are_filtered_by_bbox_and_kind(world):
    make_org(world.village, "甲站", 120.41, 30.01, OrganizationKind.STATION)
    make_org(world.village, "乙队", 120.45, 30.04, OrganizationKind.RESCUE_SQUAD)
    client = world.client_for(world.parent)
    assert names(features(client, "organizations", bbox="120.40,30.00,120.42,30.02")) == {"甲站"}
    assert names(features(client, "organizations", kind="rescue_squad")) == {"乙队"}
    assert names(features(client, "organizations")) == {"甲站", "乙队"}


def test_popups_escape_names(world):
    make_org(world.village, "<script>alert(1)</script>队", 120.41, 30.01)
    popup = features(world.client_for(world.same), "organizations")["features"][0]["properties"][
        "popup"
    ]
    assert "<script>" not in popup and "&lt;script&gt;" in popup


def test_too_many_features_are_cut_and_flagged(world, settings):
    settings.MAP_MAX_FEATURES = 3
    for i in range(5):
        make_org(world.village, f"单位{i}", 120.41 + i * 0.001, 30.01)
    collection = features(world.client_for(world.parent), "organizations")
    assert len(collection["features"]) == 3
    assert collection["properties"]["truncated"] is True
    assert collection["properties"]["limit"] == 3
    settings.MAP_MAX_FEATURES = 10
    collection = features(world.client_for(world.parent), "organizations")
    assert len(collection["features"]) == 5 and collection["properties"]["truncated"] is False


def test_layer_queries_do_not_grow_with_rows(world, django_assert_max_num_queries):
    client = world.client_for(world.parent)
    make_org(world.village, "单位甲", 120.41, 30.01)
    features(client, "organizations")  # warm the session
    for i in range(30):
        make_org(world.village, f"单位{i}", 120.41 + i * 0.0005, 30.01)
    with django_assert_max_num_queries(5):
        assert len(features(client, "organizations")["features"]) == 31
    geometry_cache.clear()
    with django_assert_max_num_queries(6):  # rows, then the boundaries not yet cached
        features(client, "regions", zoom=15)
    with django_assert_max_num_queries(5):  # all boundaries cached now
        features(client, "regions", zoom=15)


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bbox",
    [
        "120,30,121",
        "a,b,c,d",
        "120,30,121,31,5",
        "121,30,120,31",
        "120,31,121,30",
        "200,30,201,31",
        "120,-95,121,31",
        "nan,30,121,31",
        "inf,30,121,31",
    ],
)
def test_bad_bbox_is_422_with_chinese_message(world, bbox):
    response = world.client_for(world.parent).get("/api/v1/map/layers/regions", {"bbox": bbox})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert "bbox" in body["message"] and "bbox" in body["details"]
    assert re.search(r"[\u4e00-\u9fff]", body["details"]["bbox"])


def test_bad_zoom_and_crs_are_422(world):
    client = world.client_for(world.parent)
    assert client.get("/api/v1/map/layers/regions", {"zoom": "99"}).status_code == 422
    response = client.get("/api/v1/map/layers/regions", {"crs": "bd09"})
    assert response.status_code == 422
    assert response.json()["details"] == {"crs": "不在可选值之内"}


# --- configuration --------------------------------------------------------------------------


def test_config_defaults_to_no_tiles_and_the_scope_box(world):
    body = world.client_for(world.same).get("/api/v1/map/config").json()
    assert body["tiles"] == {"provider": "none", "crs": "wgs84", "layers": [], "warning": ""}
    assert body["bbox"] == pytest.approx([120.40, 30.00, 120.50, 30.10])
    body = world.client_for(world.grid_worker).get("/api/v1/map/config").json()
    assert body["bbox"] == pytest.approx([120.40, 30.00, 120.42, 30.02])


def test_config_tianditu_needs_a_key(world, settings):
    client = world.client_for(world.parent)
    settings.MAP_TILES = "tianditu"
    settings.TIANDITU_KEY = ""
    tiles = client.get("/api/v1/map/config").json()["tiles"]
    assert tiles["provider"] == "none" and "TIANDITU_KEY" in tiles["warning"]
    settings.TIANDITU_KEY = "abc123"
    tiles = client.get("/api/v1/map/config").json()["tiles"]
    assert tiles["provider"] == "tianditu" and tiles["crs"] == "wgs84"
    urls = [layer["url"] for layer in tiles["layers"]]
    assert len(urls) == 2 and all("tk=abc123" in url for url in urls)
    assert "LAYER=vec" in urls[0] and "LAYER=cva" in urls[1]


def test_config_amap_is_gcj02_and_shifts_the_initial_view(world, settings):
    settings.MAP_TILES = "amap"
    body = world.client_for(world.same).get("/api/v1/map/config").json()
    assert body["tiles"]["crs"] == "gcj02"
    assert body["bbox"][:2] == pytest.approx(list(wgs84_to_gcj02(120.40, 30.00)))


def test_config_intranet_tile_server(world, settings):
    settings.MAP_TILES = "none"
    settings.MAP_TILE_URL = "/tiles/{z}/{x}/{y}.png"
    tiles = world.client_for(world.same).get("/api/v1/map/config").json()["tiles"]
    assert tiles["provider"] == "custom"
    assert tiles["layers"][0]["url"] == "/tiles/{z}/{x}/{y}.png"


# --- the page -------------------------------------------------------------------------------


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in {"src", "href"} and value:
                self.urls.append(value)


def test_map_page_uses_only_local_files(world):
    response = world.client_for(world.same).get("/map/")
    assert response.status_code == 200
    html = response.content.decode()
    parser = Links()
    parser.feed(html)
    assert "/static/vendor/leaflet/leaflet.js" in parser.urls
    assert "/static/vendor/leaflet/leaflet.css" in parser.urls
    assert "/static/vendor/markercluster/leaflet.markercluster.js" in parser.urls
    assert "/static/frontline/map.js" in parser.urls
    remote = [url for url in parser.urls if re.match(r"^(https?:)?//", url)]
    assert remote == []
    assert 'id="map-setup"' in html and "/api/v1/map/layers" in html


def test_map_page_needs_login(world):
    response = Client().get("/map/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_map_script_has_no_remote_addresses():
    from django.contrib.staticfiles import finders

    for name in ("frontline/map.js", "frontline/map.css"):
        text = Path(finders.find(name)).read_text(encoding="utf-8")
        assert not re.search(r"https?://", text), name
