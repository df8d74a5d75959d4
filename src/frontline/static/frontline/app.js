/* Frontline shell: the phone menu, auto-submitting selects, confirmations, the home chart,
   the copy button.
   Plain scripts, no build step; htmx and ECharts come from static/vendor. */
(function () {
  "use strict";

  function setupMenu() {
    var toggle = document.querySelector("[data-menu-toggle]");
    var nav = document.getElementById("site-nav");
    if (!toggle || !nav) return;
    toggle.addEventListener("click", function () {
      var open = nav.classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }

  function setupAutosubmit() {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () {
        if (select.form.requestSubmit) select.form.requestSubmit();
        else select.form.submit();
      });
    });
  }

  function setupConfirm() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
      });
    });
  }

  // Wide screens: columns, labels turned 45° when there are many. Phones (< 600 px): bars
  // laid sideways, one row per region, so every name stays readable however many there are.
  var NARROW = 600;
  var ROW_HEIGHT = 24;

  function chartOption(element, data) {
    var narrow = element.clientWidth < NARROW;
    var category = { type: "category", data: data.labels, axisLabel: { interval: 0 } };
    var value = { type: "value", minInterval: 1 };
    var option = {
      tooltip: { trigger: "axis" },
      series: [
        { type: "bar", name: data.title, data: data.values, itemStyle: { color: "#1f5fbf" } }
      ]
    };
    if (narrow) {
      category.inverse = true;
      option.grid = { left: 8, right: 24, top: 8, bottom: 24, containLabel: true };
      option.xAxis = value;
      option.yAxis = category;
    } else {
      category.axisLabel.rotate = data.labels.length > 8 ? 45 : 0;
      option.grid = { left: 48, right: 16, top: 24, bottom: category.axisLabel.rotate ? 90 : 40 };
      option.xAxis = category;
      option.yAxis = value;
    }
    return { option: option, height: narrow ? data.labels.length * ROW_HEIGHT + 40 : null };
  }

  function drawCharts() {
    if (!window.echarts) return;
    document.querySelectorAll("[data-chart]").forEach(function (element) {
      var source = document.getElementById(element.getAttribute("data-chart"));
      if (!source) return;
      var data = JSON.parse(source.textContent);
      var chart = null;
      function draw() {
        var layout = chartOption(element, data);
        element.style.height = layout.height ? Math.max(layout.height, 200) + "px" : "";
        if (!chart) chart = window.echarts.init(element);
        chart.resize();
        chart.setOption(layout.option, true);
      }
      draw();
      window.addEventListener("resize", draw);
    });
  }

  // "复制" next to a value shown once (a new API token): the clipboard when the browser
  // allows it, otherwise the text is selected so that Ctrl+C copies it.
  function selectText(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function setupCopy() {
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      var target = document.getElementById(button.getAttribute("data-copy"));
      if (!target) return;
      var label = button.textContent;
      function say(text) {
        button.textContent = text;
        window.setTimeout(function () { button.textContent = label; }, 2500);
      }
      button.addEventListener("click", function () {
        var text = target.textContent.trim();
        function fallback() {
          selectText(target);
          say(button.getAttribute("data-copy-failed"));
        }
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(function () {
            say(button.getAttribute("data-copied"));
          }, fallback);
        } else {
          fallback();
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupMenu();
    setupAutosubmit();
    setupConfirm();
    drawCharts();
    setupCopy();
  });
})();
