/* Frontline map page: Leaflet + markercluster from /static/vendor, layers from /api/v1/map.
 * Plain ES2017, no build step. Works without base tiles (boundaries on a plain background). */
(function () {
  "use strict";

  var setupNode = document.getElementById("map-setup");
  var mapNode = document.getElementById("map");
  if (!setupNode || !mapNode || typeof L === "undefined") return;

  var setup = JSON.parse(setupNode.textContent);
  var T = setup.strings;
  var shell = document.getElementById("map-shell");
  var statusNode = document.getElementById("map-status");
  var COLOR = /^#[0-9a-fA-F]{3,8}$/;
  var LABEL_LIMIT = 300;
  // Inline icons: no icon font, no emoji font needed on old station PCs.
  var SVG_OPEN = '<svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">';
  var ICON_HOME = SVG_OPEN + '<path d="M3 11l9-7 9 7"/><path d="M5 10v10h5v-6h4v6h5V10"/></svg>';
  var ICON_FULL = SVG_OPEN + '<path d="M4 9V4h5M20 9V4h-5M4 15v5h5M20 15v5h-5"/></svg>';

  function fmt(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_m, name) {
      return values[name] === undefined ? "" : String(values[name]);
    });
  }

  function escapeHtml(text) {
    var div = document.createElement("div");
    div.textContent = text == null ? "" : String(text);
    return div.innerHTML;
  }

  function safeColor(value, fallback) {
    return typeof value === "string" && COLOR.test(value) ? value : fallback;
  }

  function debounce(fn, wait) {
    var timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, wait);
    };
  }

  function setStatus(text, kind) {
    statusNode.textContent = text || "";
    statusNode.className = "map-status" + (kind ? " is-" + kind : "");
    statusNode.hidden = !text;
  }

  /* The map fills the window below the page header (and the whole screen in full screen). */
  function fitHeight() {
    if (shell.classList.contains("is-fullscreen")) {
      shell.style.height = "";
      return;
    }
    var top = shell.getBoundingClientRect().top + window.pageYOffset;
    shell.style.height = Math.max(320, window.innerHeight - top) + "px";
  }

  async function getJSON(url, signal) {
    var response = await fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      signal: signal,
    });
    if (!response.ok) {
      var message = T.load_failed;
      try {
        message = (await response.json()).message || message;
      } catch (_e) {
        /* keep the generic message */
      }
      throw new Error(message);
    }
    return response.json();
  }

  function hashCode(text) {
    var hash = 0;
    for (var i = 0; i < text.length; i += 1) hash = (hash * 31 + text.charCodeAt(i)) | 0;
    return Math.abs(hash);
  }

  // --- drawing ------------------------------------------------------------------------------

  function polygonStyle(layer, feature, hasTiles) {
    var style = layer.style || {};
    var props = feature.properties || {};
    var level = (style.levels || {})[props.level] || {};
    var color = safeColor(level.color || style.color, "#0f3d7a");
    var palette = style.palette || ["#dbe7f7"];
    var area = props.role === "area";
    var weight = Number(level.weight || style.weight || 1.5);
    // The edge of the user's own scope is always drawn firmly, whatever its level.
    if (props.scope_root) weight = Math.max(weight, 2.5);
    return {
      color: color,
      weight: weight,
      dashArray: props.scope_root ? null : level.dashArray || null,
      opacity: 0.95,
      fill: area,
      fillColor: safeColor(palette[hashCode(String(props.code || props.name || "")) % palette.length], "#dbe7f7"),
      fillOpacity: area ? (hasTiles ? 0.25 : 0.75) : 0,
    };
  }

  function pinIcon(layer, props) {
    var style = layer.style || {};
    var kind = (style.kinds || {})[props.kind] || {};
    var color = safeColor(props.color || kind.color || style.color, "#1f5fbf");
    var glyph = props.glyph || kind.glyph || style.glyph || "";
    var size = Number(style.radius || 12) * 2;
    return L.divIcon({
      className: "map-pin",
      html:
        '<span class="map-pin-body" style="background:' + color + ";width:" + size + "px;height:" +
        size + "px;line-height:" + size + 'px">' + escapeHtml(glyph) + "</span>",
      iconSize: [size, size],
      iconAnchor: [size / 2, size / 2],
      popupAnchor: [0, -size / 2],
    });
  }

  function clusterIcon(cluster) {
    var count = cluster.getChildCount();
    var size = count < 10 ? 30 : count < 100 ? 36 : 44;
    return L.divIcon({
      className: "map-cluster",
      html: '<span style="width:' + size + "px;height:" + size + "px;line-height:" + size + 'px">' + count + "</span>",
      iconSize: [size, size],
    });
  }

  function labelMarker(props, latlng) {
    return L.marker(latlng, {
      icon: L.divIcon({
        className: "map-label map-label-" + escapeHtml(props.level || ""),
        html: "<span>" + escapeHtml(props.name) + "</span>",
        iconSize: null,
      }),
      interactive: false,
      keyboard: false,
      pane: "frontlineLabels",
    });
  }

  function drawPolygons(state, data) {
    var layer = state.def;
    var hasTiles = state.app.hasTiles;
    var areas = [];
    var outlines = [];
    data.features.forEach(function (feature) {
      (feature.properties && feature.properties.role === "outline" ? outlines : areas).push(feature);
    });
    var styleOf = function (feature) {
      return polygonStyle(layer, feature, hasTiles);
    };
    var areaLayer = L.geoJSON(areas, {
      style: styleOf,
      onEachFeature: function (feature, shape) {
        var props = feature.properties || {};
        if (props.popup) shape.bindPopup(props.popup, { maxWidth: 280 });
        shape.on("mouseover", function () {
          shape.setStyle({ weight: styleOf(feature).weight + 1.5 });
        });
        shape.on("mouseout", function () {
          areaLayer.resetStyle(shape);
        });
      },
    });
    var outlineLayer = L.geoJSON(outlines, { style: styleOf, interactive: false });
    state.group.clearLayers();
    state.group.addLayer(areaLayer);
    state.group.addLayer(outlineLayer);
    if (areas.length <= LABEL_LIMIT) {
      areas.forEach(function (feature) {
        var point = feature.properties && feature.properties.label_point;
        if (point) state.group.addLayer(labelMarker(feature.properties, [point[1], point[0]]));
      });
    }
  }

  function drawPoints(state, data) {
    var layer = state.def;
    var markers = [];
    data.features.forEach(function (feature) {
      if (!feature.geometry || feature.geometry.type !== "Point") return;
      var c = feature.geometry.coordinates;
      var props = feature.properties || {};
      var marker = L.marker([c[1], c[0]], { icon: pinIcon(layer, props), title: props.name || "" });
      if (props.popup) marker.bindPopup(props.popup, { maxWidth: 280 });
      markers.push(marker);
    });
    state.group.clearLayers();
    if (state.group.addLayers) state.group.addLayers(markers);
    else markers.forEach(function (m) { state.group.addLayer(m); });
  }

  // --- loading by box -----------------------------------------------------------------------

  function boxParam(bounds) {
    var clamp = function (v, lo, hi) { return Math.min(hi, Math.max(lo, v)); };
    return [
      clamp(bounds.getWest(), -180, 180).toFixed(5),
      clamp(bounds.getSouth(), -90, 90).toFixed(5),
      clamp(bounds.getEast(), -180, 180).toFixed(5),
      clamp(bounds.getNorth(), -90, 90).toFixed(5),
    ].join(",");
  }

  async function loadLayer(state) {
    var app = state.app;
    var map = app.map;
    var zoom = map.getZoom();
    if (!state.enabled) {
      if (map.hasLayer(state.group)) map.removeLayer(state.group);
      state.note.textContent = "";
      return;
    }
    if (!map.hasLayer(state.group)) map.addLayer(state.group);
    if (zoom < state.def.min_zoom) {
      state.group.clearLayers();
      state.loaded = null;
      state.note.textContent = fmt(T.zoom_in_to_see, { zoom: state.def.min_zoom });
      return;
    }
    var view = map.getBounds();
    // Nothing to fetch when the last answer covers this view at this zoom.
    if (state.loaded && state.loaded.zoom === zoom && state.loaded.bounds.contains(view)) return;
    var bounds = view.pad(0.25);
    if (state.controller) state.controller.abort();
    state.controller = new AbortController();
    // The API takes whole zoom levels; the map may sit between two (zoomSnap 0.5).
    var query = new URLSearchParams({ bbox: boxParam(bounds), zoom: String(Math.round(zoom)), crs: app.crs });
    state.note.textContent = T.loading;
    try {
      var data = await getJSON(setup.features_url + encodeURIComponent(state.def.key) + "?" + query, state.controller.signal);
      if (state.def.kind === "polygons") drawPolygons(state, data);
      else drawPoints(state, data);
      state.loaded = { zoom: zoom, bounds: bounds };
      var props = data.properties || {};
      state.truncated = Boolean(props.truncated);
      state.note.textContent = (props.count || 0) + " " + T.features;
      updateWarnings(app);
    } catch (error) {
      if (error.name === "AbortError") return;
      state.note.textContent = "";
      setStatus(error.message || T.load_failed, "error");
    }
  }

  function updateWarnings(app) {
    var truncated = app.states.filter(function (s) { return s.enabled && s.truncated; });
    if (truncated.length) setStatus(fmt(T.truncated, { limit: app.config.max_features }), "warn");
    else if (app.warning) setStatus(app.warning, "warn");
    else setStatus("");
  }

  function refreshAll(app) {
    app.states.forEach(function (state) { loadLayer(state); });
  }

  // --- controls -----------------------------------------------------------------------------

  function legendRow(row) {
    var item = L.DomUtil.create("li", "map-legend-row");
    var swatch = L.DomUtil.create("span", "map-legend-swatch", item);
    var color = safeColor(row.color, "#5b6676");
    if (row.shape === "line") {
      swatch.classList.add("is-line");
      swatch.style.borderTop = Math.max(1, Number(row.weight || 1.5)) + "px " + (row.dash ? "dashed " : "solid ") + color;
    } else if (row.shape === "area") {
      swatch.classList.add("is-area");
      swatch.style.background = color;
    } else {
      swatch.classList.add("is-pin");
      swatch.style.background = color;
      swatch.textContent = row.glyph || "";
    }
    L.DomUtil.create("span", "map-legend-label", item).textContent = row.label;
    return item;
  }

  function layerPanel(app) {
    var Panel = L.Control.extend({
      options: { position: "topright" },
      onAdd: function () {
        var box = L.DomUtil.create("div", "map-panel leaflet-bar");
        var toggle = L.DomUtil.create("button", "map-panel-toggle", box);
        toggle.type = "button";
        toggle.textContent = T.layers;
        var body = L.DomUtil.create("div", "map-panel-body", box);
        body.id = "map-panel-body";
        toggle.setAttribute("aria-controls", body.id);
        var collapsed = window.innerWidth < 700;
        var setCollapsed = function (value) {
          collapsed = value;
          box.classList.toggle("is-collapsed", collapsed);
          toggle.setAttribute("aria-expanded", String(!collapsed));
        };
        setCollapsed(collapsed);
        L.DomEvent.on(toggle, "click", function () { setCollapsed(!collapsed); });

        var list = L.DomUtil.create("ul", "map-layer-list", body);
        app.states.forEach(function (state) {
          var item = L.DomUtil.create("li", "map-layer", list);
          var label = L.DomUtil.create("label", "map-layer-name", item);
          var box2 = L.DomUtil.create("input", "", label);
          box2.type = "checkbox";
          box2.checked = state.enabled;
          box2.dataset.layer = state.def.key;
          L.DomUtil.create("span", "", label).textContent = state.def.name;
          state.note = L.DomUtil.create("span", "map-layer-note", item);
          var legend = L.DomUtil.create("ul", "map-legend", item);
          legend.setAttribute("aria-label", T.legend);
          (state.def.legend || []).forEach(function (row) { legend.appendChild(legendRow(row)); });
          legend.hidden = !state.enabled;
          L.DomEvent.on(box2, "change", function () {
            state.enabled = box2.checked;
            legend.hidden = !state.enabled;
            state.loaded = null;
            state.truncated = false;
            loadLayer(state);
            updateWarnings(app);
          });
        });
        var base = L.DomUtil.create("p", "map-base", body);
        base.textContent = T.base_map + " " + (app.hasTiles ? app.config.tiles.provider : T.no_tiles);
        L.DomEvent.disableClickPropagation(box);
        L.DomEvent.disableScrollPropagation(box);
        return box;
      },
    });
    return new Panel();
  }

  function toolButtons(app) {
    var Tools = L.Control.extend({
      options: { position: "topleft" },
      onAdd: function () {
        var bar = L.DomUtil.create("div", "leaflet-bar map-tools");
        var home = L.DomUtil.create("a", "map-tool-home", bar);
        home.href = "#";
        home.title = T.fit_scope;
        home.setAttribute("role", "button");
        home.setAttribute("aria-label", T.fit_scope);
        home.innerHTML = ICON_HOME;
        var full = L.DomUtil.create("a", "map-tool-full", bar);
        full.href = "#";
        full.title = T.fullscreen;
        full.setAttribute("role", "button");
        full.setAttribute("aria-label", T.fullscreen);
        full.innerHTML = ICON_FULL;
        L.DomEvent.on(home, "click", function (event) {
          L.DomEvent.preventDefault(event);
          fitScope(app);
        });
        L.DomEvent.on(full, "click", function (event) {
          L.DomEvent.preventDefault(event);
          setFullscreen(app, !shell.classList.contains("is-fullscreen"), full);
        });
        L.DomEvent.disableClickPropagation(bar);
        return bar;
      },
    });
    return new Tools();
  }

  function setFullscreen(app, on, button) {
    shell.classList.toggle("is-fullscreen", on);
    document.documentElement.classList.toggle("map-fullscreen-active", on);
    button.title = on ? T.exit_fullscreen : T.fullscreen;
    button.setAttribute("aria-label", button.title);
    // The browser's full screen where it exists; the CSS class alone works everywhere else
    // (iPhone Safari has no element full screen).
    try {
      if (on && shell.requestFullscreen && !document.fullscreenElement) shell.requestFullscreen().catch(function () {});
      if (!on && document.fullscreenElement && document.exitFullscreen) document.exitFullscreen().catch(function () {});
    } catch (_e) {
      /* CSS full screen is enough */
    }
    fitHeight();
    setTimeout(function () { app.map.invalidateSize(); }, 50);
  }

  function fitScope(app) {
    var b = app.config.bbox;
    if (b) app.map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { padding: [16, 16] });
  }

  // --- start --------------------------------------------------------------------------------

  async function start() {
    fitHeight();
    window.addEventListener("resize", fitHeight);
    setStatus(T.loading, "info");
    var config;
    var layers;
    try {
      var answers = await Promise.all([getJSON(setup.config_url), getJSON(setup.layers_url)]);
      config = answers[0];
      layers = answers[1];
    } catch (error) {
      setStatus(error.message || T.load_failed, "error");
      return;
    }
    var tiles = config.tiles || { layers: [], crs: "wgs84" };
    var map = L.map(mapNode, {
      zoomControl: false,
      minZoom: config.min_zoom,
      maxZoom: config.max_zoom,
      zoomSnap: 0.5,
      tap: true,
    });
    map.attributionControl.setPrefix("Leaflet");
    // Region names above the pins and clusters, never catching clicks.
    map.createPane("frontlineLabels");
    map.getPane("frontlineLabels").style.zIndex = 640;
    map.getPane("frontlineLabels").style.pointerEvents = "none";
    L.control.zoom({ zoomInTitle: T.zoom_in, zoomOutTitle: T.zoom_out }).addTo(map);
    var app = {
      map: map,
      config: config,
      crs: tiles.crs === "gcj02" ? "gcj02" : "wgs84",
      hasTiles: (tiles.layers || []).length > 0,
      warning: tiles.warning || "",
      states: [],
    };
    (tiles.layers || []).forEach(function (tile) {
      L.tileLayer(tile.url, {
        subdomains: tile.subdomains || "abc",
        maxZoom: tile.max_zoom || 18,
        attribution: escapeHtml(tile.attribution || ""),
      }).addTo(map);
    });
    mapNode.classList.toggle("map-plain", !app.hasTiles);
    L.control.scale({ imperial: false, position: "bottomleft" }).addTo(map);

    app.states = layers.map(function (def) {
      var clustered = def.kind === "points" && def.cluster && typeof L.markerClusterGroup === "function";
      var group = clustered
        ? L.markerClusterGroup({
            showCoverageOnHover: false,
            maxClusterRadius: 60,
            disableClusteringAtZoom: 17,
            chunkedLoading: true,
            iconCreateFunction: clusterIcon,
          })
        : L.featureGroup();
      return { app: app, def: def, group: group, enabled: Boolean(def.default_on), loaded: null, controller: null, truncated: false, note: null };
    });
    toolButtons(app).addTo(map);
    layerPanel(app).addTo(map);

    // A page may open the map on one place: /map/?bbox=minLon,minLat,maxLon,maxLat.
    var asked = new URLSearchParams(window.location.search).get("bbox");
    var box = asked ? asked.split(",").map(Number) : null;
    if (box && box.length === 4 && box.every(isFinite)) {
      map.fitBounds([[box[1], box[0]], [box[3], box[2]]], { padding: [16, 16] });
    } else if (config.bbox) {
      fitScope(app);
    } else {
      map.setView([30.0, 120.0], 5);
      app.warning = T.no_boundary;
    }
    setStatus(app.warning, app.warning ? "warn" : "");
    map.on("moveend", debounce(function () { refreshAll(app); }, 250));
    document.addEventListener("fullscreenchange", function () {
      if (!document.fullscreenElement && shell.classList.contains("is-fullscreen")) {
        setFullscreen(app, false, shell.querySelector(".map-tool-full"));
      }
    });
    window.addEventListener("resize", debounce(function () { map.invalidateSize(); }, 150));
    refreshAll(app);
    shell.dataset.ready = "true";
  }

  start();
})();
