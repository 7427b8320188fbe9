/* The project page: charts from the embedded data; what-if and register edits via the API. */
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('project-data').textContent);
  var d = data.detail, pid = d.project.project_id, api = '/v1/projects/' + encodeURIComponent(pid);
  function pct(p) { return p === null || p === undefined ? '—' : Math.round(100 * p) + '%'; }
  function col(rows, key) { return rows.map(function (r) { return r[key]; }); }

  var x = col(d.signals, 'as_of');
  PmoCharts.lines('chart-indices', x, [
    { name: 'SPI', y: col(d.signals, 'spi') }, { name: 'CPI', y: col(d.signals, 'cpi') },
    { name: 'SPI(t)', y: col(d.signals, 'spi_t'), dash: 'dot' }], 'index (1 = on plan)',
    { title: { text: 'Performance indices' } });
  var rx = col(d.risk_history, 'as_of');
  PmoCharts.lines('chart-risk', rx, data.targets.map(function (t) {
    return { name: t, y: d.risk_history.map(function (r) { var p = r.probabilities[t]; return p === null ? null : 100 * p; }) };
  }), 'overrun probability (%)', { title: { text: "The model's risk at each report" }, yaxis: { range: [0, 100], title: { text: 'overrun probability (%)' } } });
  var sx = col(d.snapshots, 'as_of');
  PmoCharts.lines('chart-finish', sx, [
    { name: 'forecast finish', y: col(d.snapshots, 'forecast_finish') },
    { name: 'baseline finish', y: sx.map(function () { return d.project.baseline_finish; }), dash: 'dash' }],
    'date', { title: { text: 'Forecast finish vs baseline' } });
  PmoCharts.lines('chart-cost', sx, [
    { name: 'forecast cost', y: col(d.snapshots, 'forecast_cost') },
    { name: 'baseline budget', y: sx.map(function () { return d.project.baseline_budget; }), dash: 'dash' }],
    'cost', { title: { text: 'Forecast cost vs baseline budget' } });
  Object.keys(d.latest.scores).forEach(function (t) {
    var s = d.latest.scores[t];
    if (s.base_value === null || !s.contributions.length) { return; }
    var contribs = s.contributions.map(function (c) {
      var v = c.value === null ? 'missing' : (typeof c.value === 'number' ? (+c.value.toFixed(3)) : c.value);
      return { label: c.feature + ' = ' + v, contribution: c.contribution };
    });
    PmoCharts.waterfall('waterfall-' + t, s.base_value, contribs, t + ' risk ' + pct(s.probability));
  });

  function post(url, body, method) {
    return fetch(url, { method: method || 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': PmoCsrf() }, body: JSON.stringify(body) })
      .then(function (r) { return r.json().catch(function () { return {}; }).then(function (j) { if (!r.ok) { throw j; } return j; }); });
  }
  function problems(err) {
    if (err && err.problems) { return err.problems.map(function (p) { return (p.column || '') + ': ' + p.message; }).join('; '); }
    if (err && Array.isArray(err.detail)) { return err.detail.map(function (p) { return p.loc.slice(-1)[0] + ': ' + p.msg; }).join('; '); }
    return (err && err.detail) || 'request failed';
  }

  var wf = document.getElementById('whatif-form');
  if (wf) {
    wf.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var changes = {};
      wf.querySelectorAll('input[type=number]').forEach(function (i) {
        if (i.value !== '' && Math.abs(parseFloat(i.value) - parseFloat(i.dataset.current)) > 1e-9) { changes[i.name] = parseFloat(i.value); }
      });
      var out = document.getElementById('whatif-result'); out.textContent = 'Scoring…';
      post(api + '/what-if', { changes: changes }).then(function (r) {
        out.textContent = Object.keys(r.after).map(function (t) { return t + ': ' + pct(r.before[t]) + ' → ' + pct(r.after[t]); }).join(' · ');
        out.dataset.after = JSON.stringify(r.after);
      }).catch(function (e) { out.textContent = 'Could not score: ' + problems(e); });
    });
    document.getElementById('whatif-good').addEventListener('click', function () {
      wf.querySelectorAll('input[type=number]').forEach(function (i) { i.value = (+parseFloat(i.dataset.good).toFixed(2)); });
    });
  }
  var uf = document.getElementById('under-form');
  if (uf) {
    uf.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var target = uf.elements.target.value, thr = parseFloat(uf.elements.threshold.value) / 100;
      var out = document.getElementById('under-result'); out.textContent = 'Searching…';
      post(api + '/bring-under', { target: target, threshold: thr }).then(function (r) {
        if (!r.best) {
          var c = r.combined || (r.single.length ? r.single[0] : null);
          out.textContent = 'No change of the levers brings ' + target + ' risk (' + pct(r.current) + ') under ' + pct(thr) +
            (c ? '; with every lever recovered it would be ' + pct(c.probability) + '.' : '.');
          return;
        }
        var parts = Object.keys(r.best.changes).map(function (k) { var v = r.best.changes[k]; return k + ' ' + (+v[0].toFixed(2)) + ' → ' + (+v[1].toFixed(2)); });
        out.textContent = 'Smallest change: ' + parts.join(', ') + ' gives ' + pct(r.best.probability) + ' (now ' + pct(r.current) + ').';
      }).catch(function (e) { out.textContent = 'Could not search: ' + problems(e); });
    });
  }

  function reloadAfter(p, status) {
    p.then(function () { window.location.reload(); }).catch(function (e) { document.getElementById('register-result').textContent = 'Not saved: ' + problems(e); });
  }
  function formBody(form) {
    var body = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.value === '') { return; }
      body[el.name] = el.type === 'number' ? parseInt(el.value, 10) : el.value;
    });
    return body;
  }
  var rf = document.getElementById('add-risk');
  rf.addEventListener('submit', function (ev) { ev.preventDefault(); reloadAfter(post(api + '/risks', formBody(rf))); });
  document.querySelectorAll('form.add-action').forEach(function (f) {
    f.addEventListener('submit', function (ev) { ev.preventDefault(); reloadAfter(post('/v1/risks/' + f.dataset.riskId + '/actions', formBody(f))); });
  });
  document.querySelectorAll('[data-close-risk]').forEach(function (b) {
    b.addEventListener('click', function () { reloadAfter(post('/v1/risks/' + b.dataset.closeRisk, { status: 'closed' }, 'PATCH')); });
  });
  document.querySelectorAll('[data-done-action]').forEach(function (b) {
    b.addEventListener('click', function () { reloadAfter(post('/v1/actions/' + b.dataset.doneAction, { status: 'done' }, 'PATCH')); });
  });
})();
