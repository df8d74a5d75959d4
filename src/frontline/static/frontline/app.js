/* Frontline shell: the phone menu, auto-submitting selects, confirmations, the home chart.
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

  function drawCharts() {
    if (!window.echarts) return;
    document.querySelectorAll("[data-chart]").forEach(function (element) {
      var source = document.getElementById(element.getAttribute("data-chart"));
      if (!source) return;
      var data = JSON.parse(source.textContent);
      var chart = window.echarts.init(element);
      var rotate = data.labels.length > 8 ? 40 : 0;
      chart.setOption({
        grid: { left: 48, right: 16, top: 24, bottom: rotate ? 80 : 40 },
        tooltip: { trigger: "axis" },
        xAxis: { type: "category", data: data.labels, axisLabel: { interval: 0, rotate: rotate } },
        yAxis: { type: "value", minInterval: 1 },
        series: [{ type: "bar", name: data.title, data: data.values, itemStyle: { color: "#1f5fbf" } }]
      });
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupMenu();
    setupAutosubmit();
    setupConfirm();
    drawCharts();
  });
})();
