/* The patrol run page on the phone: 打卡 with the phone's position and accuracy, the position
 * added to a finding, the track sent every 30 s while the page is open, and the run's map.
 * Plain ES2017, no build step. Without geolocation a check-in is still sent (and flagged). */
(function () {
  "use strict";

  var TRACK_EVERY_MS = 30000;
  var run = document.getElementById("patrol-run");
  var statusNode = document.getElementById("patrol-status");
  var lastFix = null;
  var buffer = [];
  var watchId = null;

  function say(text) {
    if (statusNode) statusNode.textContent = text || "";
  }

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function fixOf(position) {
    return {
      lon: position.coords.longitude,
      lat: position.coords.latitude,
      accuracy: position.coords.accuracy,
      at: Math.floor((position.timestamp || Date.now()) / 1000),
    };
  }

  // A fresh fix for a check-in. The track's watch is paused meanwhile: Chromium answers a
  // one-off request made while a watch runs with POSITION_UNAVAILABLE.
  function locate(done) {
    if (!navigator.geolocation) {
      done(null);
      return;
    }
    stopWatch();
    navigator.geolocation.getCurrentPosition(
      function (position) {
        var fix = fixOf(position);
        lastFix = fix;
        startWatch();
        done(fix);
      },
      function () {
        startWatch();
        done(null);
      },
      { enableHighAccuracy: true, timeout: 10000, maximumAge: 0 }
    );
  }

  function fill(form, fix) {
    if (!fix) return;
    form.elements.lon.value = fix.lon.toFixed(7);
    form.elements.lat.value = fix.lat.toFixed(7);
    if (form.elements.accuracy) form.elements.accuracy.value = Math.round(fix.accuracy * 10) / 10;
  }

  // --- check-in buttons ---------------------------------------------------------------------
  document.querySelectorAll(".checkin-form [data-checkin]").forEach(function (button) {
    button.addEventListener("click", function () {
      var form = button.form;
      button.disabled = true;
      say(run ? run.dataset.msgLocating : "");
      locate(function (fix) {
        if (!fix) say(run ? run.dataset.msgNoPosition : "");
        else remember(fix);
        fill(form, fix);
        form.submit();
      });
    });
  });

  // --- a finding carries where it was seen ---------------------------------------------------
  var findingForm = document.getElementById("finding-form");
  if (findingForm) {
    findingForm.addEventListener("submit", function (event) {
      if (findingForm.dataset.located) return;
      // A fix of the last half minute is good enough for where something was seen.
      if (lastFix && Date.now() / 1000 - lastFix.at < 30) {
        fill(findingForm, lastFix);
        return;
      }
      event.preventDefault();
      locate(function (fix) {
        fill(findingForm, fix || lastFix);
        findingForm.dataset.located = "1";
        findingForm.submit();
      });
    });
  }

  // --- the track ----------------------------------------------------------------------------
  function flush(keepalive) {
    if (!run || !buffer.length) return;
    var points = buffer.splice(0, buffer.length);
    fetch(run.dataset.trackUrl, {
      method: "POST",
      credentials: "same-origin",
      keepalive: Boolean(keepalive),
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify({ points: points }),
    }).then(function (response) {
      // A refused batch (409: the run ended elsewhere) is dropped; a failed one is retried.
      if (!response.ok && response.status >= 500) buffer = points.concat(buffer);
    }).catch(function () {
      buffer = points.concat(buffer);
    });
  }

  function remember(fix) {
    lastFix = fix;
    var previous = buffer.length ? buffer[buffer.length - 1] : null;
    if (previous && previous[2] >= fix.at) return;
    buffer.push([fix.lon, fix.lat, fix.at, Math.round(fix.accuracy * 10) / 10]);
  }

  function startWatch() {
    if (!run || !navigator.geolocation || watchId !== null) return;
    watchId = navigator.geolocation.watchPosition(
      function (position) { remember(fixOf(position)); },
      function () {},
      { enableHighAccuracy: true, maximumAge: 10000 }
    );
  }

  function stopWatch() {
    if (watchId === null) return;
    navigator.geolocation.clearWatch(watchId);
    watchId = null;
  }

  if (run && navigator.geolocation) {
    startWatch();
    window.setInterval(function () { flush(false); }, TRACK_EVERY_MS);
    // Leaving the page (every check-in and finding reloads it) sends what is left; not on
    // submit, so the points never race the walker's own request.
    window.addEventListener("pagehide", function () { flush(true); });
  }

  // --- the run's map ------------------------------------------------------------------------
  window.addEventListener("DOMContentLoaded", function () {
    var element = document.getElementById("run-map");
    if (!element || !window.L) return;
    var data = JSON.parse(document.getElementById(element.dataset.map).textContent);
    var map = L.map(element, { zoomSnap: 0.5, attributionControl: false });
    ((data.tiles && data.tiles.layers) || []).forEach(function (tile) {
      L.tileLayer(tile.url, { subdomains: tile.subdomains || "abc", maxZoom: tile.max_zoom || 18 }).addTo(map);
    });
    var bounds = L.latLngBounds([]);
    data.checkpoints.forEach(function (point) {
      var latlng = [point.at[1], point.at[0]];
      L.circle(latlng, { radius: point.r, color: "#1f5fbf", weight: 1, fillOpacity: 0.12 })
        .bindTooltip(point.name).addTo(map);
      bounds.extend(latlng);
    });
    if (data.track.length) {
      var line = data.track.map(function (c) { return [c[1], c[0]]; });
      L.polyline(line, { color: "#e8590c", weight: 4, opacity: 0.85 }).addTo(map);
      L.circleMarker(line[0], { radius: 5, color: "#2e9e57", fillOpacity: 1 })
        .bindTooltip(data.labels.start).addTo(map);
      line.forEach(function (latlng) { bounds.extend(latlng); });
    }
    data.points.forEach(function (point) {
      var latlng = [point.at[1], point.at[0]];
      L.circleMarker(latlng, {
        radius: point.flagged ? 7 : 5,
        color: point.flagged ? "#d92d20" : "#2e9e57",
        fillOpacity: 0.9,
      }).bindTooltip(point.label).addTo(map);
      bounds.extend(latlng);
    });
    if (bounds.isValid()) map.fitBounds(bounds.pad(0.2), { maxZoom: 18 });
    else map.setView([30, 120.4], 13);
  });
})();
