/* The import page: dry run through POST /v1/imports, show the report, then confirm. */
(function () {
  'use strict';
  var form = document.getElementById('import-form'), report = document.getElementById('imp-report');
  var confirmBtn = document.getElementById('imp-confirm');
  function esc(s) { var d = document.createElement('div'); d.textContent = s === null || s === undefined ? '' : String(s); return d.innerHTML; }
  function send(dry) {
    var fd = new FormData();
    ['projects', 'snapshots'].forEach(function (n) { var f = form.elements[n].files[0]; if (f) { fd.append(n, f); } });
    fd.append('dry_run', dry ? 'true' : 'false');
    return fetch('/v1/imports', { method: 'POST', body: fd, headers: { 'X-CSRF-Token': PmoCsrf() } }).then(function (r) { return r.json().then(function (j) { return { ok: r.ok, body: j }; }); });
  }
  function show(res, dry) {
    if (!res.ok) {
      confirmBtn.hidden = true;
      var rows = (res.body.problems || []).map(function (p) {
        return '<tr><td>' + esc(p.file) + '</td><td>' + esc(p.row) + '</td><td>' + esc(p.column) + '</td><td>' + esc(p.message) + '</td><td>' + esc(p.value) + '</td></tr>';
      }).join('');
      report.innerHTML = '<p class="error">' + esc(res.body.detail || 'rejected') + '</p>' + (rows ?
        '<table><caption>Validation report</caption><thead><tr><th scope="col">File</th><th scope="col">Row</th><th scope="col">Column</th><th scope="col">Problem</th><th scope="col">Value</th></tr></thead><tbody>' + rows + '</tbody></table>' : '');
      return;
    }
    var s = res.body.summary, items = Object.keys(s).map(function (k) { return '<li>' + esc(k.replace(/_/g, ' ')) + ': ' + esc(s[k]) + '</li>'; }).join('');
    report.innerHTML = '<p class="notice">' + (dry ? 'The files are valid. Confirm to import them.' : 'Imported. Store revision ' + esc(res.body.revision) + '.') + '</p><ul>' + items + '</ul>';
    confirmBtn.hidden = !dry;
  }
  form.addEventListener('submit', function (ev) { ev.preventDefault(); report.textContent = 'Checking…'; send(true).then(function (r) { show(r, true); }); });
  confirmBtn.addEventListener('click', function () { report.textContent = 'Importing…'; send(false).then(function (r) { show(r, false); }); });
})();
