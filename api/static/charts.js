/* Charts drawn with the locally served plotly.js bundle (window.Plotly). */
(function () {
  'use strict';
  var BAND_COLOURS = { low: '#2e7d32', medium: '#b07d00', high: '#d9480f', critical: '#b00020' };
  var BAND_SYMBOLS = { low: 'circle', medium: 'diamond', high: 'triangle-up', critical: 'square' };
  var CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ['sendDataToCloud'] };
  function ready() { return typeof window.Plotly !== 'undefined'; }
  function layout(extra) {
    var base = { margin: { l: 60, r: 20, t: 30, b: 50 }, font: { family: 'system-ui, sans-serif', size: 12 },
                 legend: { orientation: 'h', y: -0.25 }, hovermode: 'closest' };
    for (var k in extra) { base[k] = extra[k]; }
    return base;
  }
  function scatter(id, data) {
    var el = document.getElementById(id); if (!el || !ready()) { return; }
    var pts = data.points, groups = {};
    for (var i = 0; i < pts.x.length; i++) {
      var b = pts.band[i] || 'none';
      groups[b] = groups[b] || { x: [], y: [], text: [] };
      groups[b].x.push(pts.x[i]); groups[b].y.push(pts.y[i]); groups[b].text.push(pts.id[i]);
    }
    var traces = Object.keys(groups).map(function (b) {
      return { type: 'scattergl', mode: 'markers', name: b, x: groups[b].x, y: groups[b].y, text: groups[b].text,
               hovertemplate: '%{text}<br>budget %{x:,.0f}<br>%{y:.0f}%<extra>' + b + '</extra>',
               marker: { color: BAND_COLOURS[b] || '#555', symbol: BAND_SYMBOLS[b] || 'circle', size: 7, opacity: 0.75 } };
    });
    Plotly.newPlot(el, traces, layout({ xaxis: { title: { text: 'budget' }, type: 'log' },
      yaxis: { title: { text: data.target + ' overrun probability (%)' }, range: [0, 100] } }), CONFIG);
    el.on('plotly_click', function (ev) { var p = ev.points && ev.points[0]; if (p) { window.location = '/projects/' + encodeURIComponent(p.text); } });
  }
  function lines(id, x, series, ytitle, extra) {
    var el = document.getElementById(id); if (!el || !ready()) { return; }
    var traces = series.map(function (s) {
      return { type: 'scatter', mode: 'lines+markers', name: s.name, x: x, y: s.y, line: { dash: s.dash || 'solid' } };
    });
    var lay = layout({ yaxis: { title: { text: ytitle } } });
    for (var k in (extra || {})) { lay[k] = extra[k]; }
    Plotly.newPlot(el, traces, lay, CONFIG);
  }
  function waterfall(id, base, contributions, title) {
    var el = document.getElementById(id); if (!el || !ready()) { return; }
    var top = contributions.slice(0, 10), rest = 0;
    for (var i = 10; i < contributions.length; i++) { rest += contributions[i].contribution; }
    var labels = ['base rate'], values = [base], measure = ['absolute'];
    top.forEach(function (c) { labels.push(c.label); values.push(c.contribution); measure.push('relative'); });
    if (contributions.length > 10) { labels.push('all other features'); values.push(rest); measure.push('relative'); }
    labels.push('this project'); values.push(0); measure.push('total');
    Plotly.newPlot(el, [{ type: 'waterfall', orientation: 'h', y: labels, x: values, measure: measure,
      increasing: { marker: { color: '#b00020' } }, decreasing: { marker: { color: '#2e7d32' } },
      totals: { marker: { color: '#0b4f9c' } }, connector: { line: { color: '#999' } },
      hovertemplate: '%{y}: %{x:+.3f} log-odds<extra></extra>' }],
      layout({ title: { text: title }, margin: { l: 260, r: 20, t: 40, b: 50 },
               yaxis: { autorange: 'reversed' }, xaxis: { title: { text: 'contribution to the log-odds of overrun' } } }), CONFIG);
  }
  window.PmoCharts = { scatter: scatter, lines: lines, waterfall: waterfall };
})();
