"""The web app in a real browser: portfolio, project, what-if, register, reports, a11y basics."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.e2e
HTTP_TIMEOUT = 600.0  # a register edit makes the next request rescore the whole store

CONTRAST_JS = """
() => {
  function rgb(s) { const m = s.match(/[\\d.]+/g).map(Number); return m.slice(0, 3); }
  function lum(c) {
    const v = c.map(x => { x /= 255;
      return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); });
    return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
  }
  function bg(el) {
    while (el) {
      const c = getComputedStyle(el).backgroundColor;
      if (c && !c.startsWith('rgba(0, 0, 0, 0)') && c !== 'transparent') return c;
      el = el.parentElement;
    }
    return 'rgb(255, 255, 255)';
  }
  const out = [];
  document.querySelectorAll('.band, td, th a, .tile-label, .change').forEach(el => {
    const a = lum(rgb(getComputedStyle(el).color)), b = lum(rgb(bg(el)));
    out.push((Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05));
  });
  return Math.min(...out);
}
"""

UNLABELLED_JS = """
() => Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(el => el.type !== 'hidden')
  .filter(el => !(el.id && document.querySelector('label[for="' + el.id + '"]')))
  .filter(el => !el.getAttribute('aria-label'))
  .map(el => el.name || el.id)
"""

HEADERS: dict[str, str] = {}


@pytest.fixture(autouse=True)
def _key_for_http_checks(api_headers: dict[str, str]) -> None:
    """HTTP checks beside the browser send the same admin key."""
    HEADERS.update(api_headers)


def _top_project(base_url: str, target: str = "schedule") -> str:
    r = httpx.get(
        headers=HEADERS,
        url=f"{base_url}/v1/portfolio/risks",
        params={"target": target, "limit": 1},
        timeout=HTTP_TIMEOUT,
    )
    return str(r.json()["items"][0]["project_id"])


def test_portfolio_sort_filter_keyboard_and_contrast(page: Any, artifacts: Path) -> None:
    page.goto("/")
    page.wait_for_selector("#scatter .main-svg")
    page.screenshot(path=str(artifacts / "portfolio.png"), full_page=True)
    rows = page.locator("#ranked tbody tr[data-project]")
    assert rows.count() > 0
    probs = [
        float(v)
        for v in page.locator("#ranked td[data-probability]").evaluate_all(
            "els => els.map(e => e.dataset.probability).filter(v => v !== '')"
        )
    ]
    assert probs == sorted(probs, reverse=True)
    # sort by budget by clicking the column header
    page.get_by_role("link", name="Budget", exact=True).click()
    page.wait_for_url(re.compile(r"sort=budget"))
    budgets = [
        float(v)
        for v in page.locator("#ranked td[data-budget]").evaluate_all(
            "els => els.map(e => e.dataset.budget).filter(v => v !== '')"
        )
    ]
    assert budgets == sorted(budgets, reverse=True)
    # filter by band with the form, using labels
    page.get_by_label("Band").select_option("high")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"band=high"))
    bands = page.locator("#ranked tbody tr[data-project] .band").evaluate_all(
        "els => els.map(e => e.dataset.band)"
    )
    assert bands and set(bands) == {"high"}
    # keyboard: the first Tab reaches the skip link, Enter moves focus to the main content
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    assert page.evaluate(UNLABELLED_JS) == []
    assert page.evaluate(CONTRAST_JS) >= 4.5


def test_project_page_waterfall_what_if_and_register(
    page: Any, base_url: str, artifacts: Path
) -> None:
    pid = _top_project(base_url, "cost")
    page.goto("/")
    page.locator(f'#ranked a[href="/projects/{pid}"]').first.click() if page.locator(
        f'#ranked a[href="/projects/{pid}"]'
    ).count() else page.goto(f"/projects/{pid}")
    page.wait_for_selector("#waterfall-cost .main-svg")
    page.wait_for_selector("#chart-indices .main-svg")
    assert page.locator("ol.drivers li").count() >= 1
    page.screenshot(path=str(artifacts / "project.png"), full_page=True)
    # what-if: recover CPI and re-score through the API
    cpi = page.locator("#lever-cpi")
    if cpi.count():
        cpi.fill("1.2")
    page.get_by_role("button", name="Re-score").click()
    page.wait_for_function("document.getElementById('whatif-result').textContent.includes('→')")
    assert "cost:" in page.locator("#whatif-result").inner_text()
    page.get_by_role("button", name="Find the smallest change").click()
    page.wait_for_function(
        "!['', 'Searching…'].includes(document.getElementById('under-result').textContent)"
    )
    assert "Could not" not in page.locator("#under-result").inner_text()
    page.locator("#whatif").screenshot(path=str(artifacts / "what-if.png"))
    # risk register: add a risk, then a mitigation action to it
    page.get_by_label("Statement").fill("Key supplier may fail the steel order")
    page.get_by_label("Owner", exact=True).fill("R. Osei")
    page.get_by_label("Probability (1–5)").fill("4")
    page.get_by_label("Impact (1–5)").fill("5")
    with page.expect_navigation():
        page.get_by_role("button", name="Add risk").click()
    row = page.locator("#risk-table tr[data-risk]").filter(has_text="Key supplier may fail")
    assert row.count() == 1 and "4 × 5 = 20" in row.inner_text()
    row.get_by_label("New action").fill("Qualify a second supplier")
    with page.expect_navigation():
        row.get_by_role("button", name=re.compile("Add action")).click()
    row = page.locator("#risk-table tr[data-risk]").filter(has_text="Key supplier may fail")
    assert "Qualify a second supplier" in row.inner_text()
    page.locator("#register").screenshot(path=str(artifacts / "register.png"))
    listed = httpx.get(
        headers=HEADERS, url=f"{base_url}/v1/projects/{pid}/risks", timeout=HTTP_TIMEOUT
    ).json()
    assert listed["open_risks"] >= 1
    assert any(
        a["description"] == "Qualify a second supplier"
        for r in listed["risks"]
        for a in r["actions"]
    )


FETCH_WHAT_IF_JS = """
async ([pid, withToken]) => {
  const headers = { 'Content-Type': 'application/json' };
  if (withToken) { headers['X-CSRF-Token'] = PmoCsrf(); }
  const r = await fetch('/v1/projects/' + encodeURIComponent(pid) + '/what-if',
    { method: 'POST', headers: headers, body: JSON.stringify({ changes: {} }) });
  return r.status;
}
"""


def test_a_change_without_the_pages_csrf_token_is_refused(page: Any, base_url: str) -> None:
    """The signed-in browser's cookie alone cannot change anything (a forged cross-site
    request has the cookie but not the token); the page's own calls send the token."""
    pid = _top_project(base_url)
    page.goto(f"/projects/{pid}")
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert token and len(token) == 64
    assert page.evaluate(FETCH_WHAT_IF_JS, [pid, False]) == 403
    assert page.evaluate(FETCH_WHAT_IF_JS, [pid, True]) == 200


def test_models_and_import_pages(page: Any, artifacts: Path) -> None:
    page.goto("/models")
    assert page.locator("table.metrics").count() >= 1
    page.wait_for_function(
        "Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)"
    )
    page.screenshot(path=str(artifacts / "models.png"), full_page=True)
    page.goto("/import")
    assert page.get_by_label("Projects file").count() == 1
    page.screenshot(path=str(artifacts / "import.png"), full_page=True)


def test_reports_download_as_excel_and_pdf(page: Any, base_url: str, artifacts: Path) -> None:
    from openpyxl import load_workbook
    from pypdf import PdfReader

    top = httpx.get(
        headers=HEADERS,
        url=f"{base_url}/v1/portfolio/risks",
        params={"limit": 1000},
        timeout=HTTP_TIMEOUT,
    ).json()["items"]
    page.goto("/")
    with page.expect_download(timeout=600_000) as info:
        page.get_by_role("link", name="Download report (Excel)").click()
    xlsx = artifacts / "report.xlsx"
    info.value.save_as(str(xlsx))
    wb = load_workbook(xlsx)
    assert {"Summary", "Top projects", "All projects", "Risks"} <= set(wb.sheetnames)
    ids = [c.value for c in wb["All projects"]["A"][1:]]
    assert set(ids) == {i["project_id"] for i in top}
    top_ids = [c.value for c in wb["Top projects"]["A"][1:]]
    assert 0 < len(top_ids) <= 10
    with page.expect_download(timeout=600_000) as info:
        page.get_by_role("link", name="Download report (PDF)").click()
    pdf = artifacts / "report.pdf"
    info.value.save_as(str(pdf))
    reader = PdfReader(io.BytesIO(pdf.read_bytes()))
    text = "\n".join(p.extract_text() or "" for p in reader.pages)
    assert "Portfolio risk report" in text and "Executive summary" in text
    assert top_ids[0] in text
    assert len(reader.pages) >= 1 + len(top_ids)


def test_schedule_quality_of_a_project_imported_from_p6_files(
    page: Any, e2e_settings: Any, artifacts: Path, tmp_path: Path
) -> None:
    """Two P6 updates imported as `pmo-risk import` does: the project page shows the latest
    update's 14 DCMA checks with the verdict in words (runs last: it changes the store)."""
    from features.sources.importer import import_paths
    from features.sources.intake import survey
    from risk_model.store import Store
    from training.synthetic_schedule import write_synthetic_xer

    for name, progress, delay in (("u1.xer", 0.3, 5.0), ("u2.xer", 0.6, 40.0)):
        write_synthetic_xer(tmp_path / name, n_activities=90, n_relationships=130, seed=8,
                            progress=progress, delay_days=delay, cost_overrun=0.2)  # fmt: skip
    store = Store(e2e_settings.store_url)
    try:
        import_paths(store, survey([tmp_path]))
    finally:
        store.dispose()
    page.goto("/projects/SYN-1")
    table = page.locator("#dcma-table")
    table.wait_for()
    rows = table.locator("tbody tr")
    assert rows.count() == 14
    words = {r.split()[-1] for r in rows.locator("td:last-child").all_inner_texts()}
    assert words <= {"pass", "FAIL", "computed"}
    assert "checks pass" in page.locator("#schedule-quality").inner_text()
    page.locator("#schedule-quality").screenshot(path=str(artifacts / "schedule-quality.png"))
