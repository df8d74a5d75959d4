// The alarm console: flash alarms that appeared since the last refresh (for 30 s), and beep
// for a new critical one when the user has turned the sound on. No library beyond htmx.
(function () {
  "use strict";
  var seen = null; // alarm ids already shown; null until the first look
  var fresh = {}; // id -> time first seen, for the flash that outlives a refresh
  var FLASH_MS = 30000;
  var KEY = "frontline.console.sound";
  var audio = null;

  function soundOn() {
    try { return window.localStorage.getItem(KEY) === "1"; } catch (e) { return false; }
  }

  function beep() {
    if (!soundOn()) return;
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      [0, 0.35].forEach(function (offset) {
        var oscillator = audio.createOscillator();
        var gain = audio.createGain();
        oscillator.frequency.value = 880;
        gain.gain.value = 0.2;
        oscillator.connect(gain);
        gain.connect(audio.destination);
        oscillator.start(audio.currentTime + offset);
        oscillator.stop(audio.currentTime + offset + 0.2);
      });
    } catch (e) { /* no audio on this device */ }
  }

  function look() {
    var feed = document.getElementById("alarm-feed");
    if (!feed) return;
    var now = Date.now();
    var critical = false;
    var cards = feed.querySelectorAll("[data-alarm-id]");
    var first = seen === null;
    seen = seen || {};
    cards.forEach(function (card) {
      var id = card.getAttribute("data-alarm-id");
      if (!first && !seen[id]) {
        fresh[id] = now;
        if (card.getAttribute("data-severity") === "critical") critical = true;
      }
      seen[id] = true;
      if (fresh[id] && now - fresh[id] < FLASH_MS) card.classList.add("is-new");
    });
    if (critical) beep();
  }

  function label(button) {
    var on = soundOn();
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.textContent = on ? button.getAttribute("data-label-on") || "🔔" : button.getAttribute("data-label-off") || "🔕";
  }

  document.addEventListener("DOMContentLoaded", function () {
    look();
    var button = document.querySelector("[data-sound-toggle]");
    if (!button) return;
    button.setAttribute("data-label-off", button.textContent.trim());
    button.setAttribute("data-label-on", button.getAttribute("data-on-text") || button.textContent.trim());
    label(button);
    button.addEventListener("click", function () {
      try { window.localStorage.setItem(KEY, soundOn() ? "0" : "1"); } catch (e) { /* private mode */ }
      label(button);
      if (soundOn()) beep(); // also unlocks audio: browsers allow it after a click
    });
  });
  document.addEventListener("htmx:afterSettle", look);
})();
