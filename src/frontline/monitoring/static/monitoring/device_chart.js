// One small line chart per metric of a device (last 24 h), from the JSON embedded in the
// page: [{metric, label, unit, boolean, points: [[epoch ms, value], ...]}]. Boolean metrics
// (smoke, fire, fault) are drawn as steps.
window.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var holder = document.querySelector("[data-device-charts]");
  if (!holder || !window.echarts) return;
  var series = JSON.parse(document.getElementById(holder.getAttribute("data-device-charts")).textContent);
  var charts = [];
  series.forEach(function (s) {
    var element = holder.querySelector('[data-metric="' + s.metric + '"]');
    if (!element) return;
    var chart = window.echarts.init(element);
    chart.setOption({
      grid: { left: 48, right: 16, top: 16, bottom: 32 },
      tooltip: { trigger: "axis", valueFormatter: function (v) { return v + (s.unit || ""); } },
      xAxis: { type: "time" },
      yAxis: s.boolean ? { type: "value", min: 0, max: 1, interval: 1 } : { type: "value", scale: true },
      series: [{ type: "line", name: s.label, data: s.points, showSymbol: false, step: s.boolean ? "end" : false, sampling: "lttb", lineStyle: { width: 1.5 } }],
    });
    charts.push(chart);
  });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
});
