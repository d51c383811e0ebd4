/* charts.js — the HTML report's interactive layer (zoom by dragging, values on hover),
 * built with uPlot from the data block #brunt-data.  Each chart replaces its static
 * inline-SVG twin only once it has drawn, so with scripts blocked (or failing) the page
 * shows the SVG charts unchanged.  Embedded in the report by the build (report/assets.c). */
(function () {
  'use strict';
  var el = document.getElementById('brunt-data');
  if (!el || typeof uPlot === 'undefined') {
    return;
  }
  var data = JSON.parse(el.textContent);
  function pctLabel(v) {
    if (v <= 0) {
      return '0%';
    }
    var p = 100 * (1 - Math.pow(10, -v));
    var digits = Math.max(0, Math.ceil(v) - 2);
    return p.toFixed(digits) + '%';
  }
  // Tick labels as the static SVG writes them: 12.5k, 1.2M.
  function compact(v) {
    var a = Math.abs(v);
    if (a >= 1e6) {
      return +(v / 1e6).toPrecision(3) + 'M';
    }
    if (a >= 1e4) {
      return +(v / 1e3).toPrecision(3) + 'k';
    }
    return String(+v.toPrecision(6));
  }
  data.charts.forEach(function (c) {
    var fig = document.getElementById(c.id);
    var svg = fig && fig.querySelector('svg');
    if (!svg) {
      return;
    }
    var width = Math.round(svg.getBoundingClientRect().width) || 760;
    var series = [{ label: c.xlabel }];
    c.series.forEach(function (s) {
      series.push({ label: s.name, stroke: s.color, width: 1.5, dash: s.dashed ? [5, 3] : undefined });
    });
    var xAxis = { label: c.xlabel };
    if (c.log_percentile) {
      xAxis.splits = function (u) {
        var out = [], max = u.scales.x.max;
        for (var v = 0; v <= max; v++) {
          out.push(v);
        }
        return out;
      };
      xAxis.values = function (u, splits) {
        return splits.map(pctLabel);
      };
    }
    var opts = {
      width: width,
      height: 260,
      series: series,
      scales: { x: { time: false } },
      // The y axis as wide as its longest tick label, so the axis title never covers
      // a label like "125,000".
      axes: [xAxis, {
        label: c.ylabel,
        values: function (u, splits) { return splits.map(compact); },
        size: function (u, values) {
          var w = 0;
          (values || []).forEach(function (v) { w = Math.max(w, String(v).length); });
          return Math.max(50, w * 7 + 30);
        },
      }],
      cursor: { drag: { x: true, y: false } },
    };
    var host = document.createElement('div');
    host.className = 'uplot-host';
    fig.insertBefore(host, svg);
    new uPlot(opts, [c.x].concat(c.series.map(function (s) { return s.y; })), host);
    svg.style.display = 'none';
    fig.setAttribute('data-interactive', 'true');
  });
})();
