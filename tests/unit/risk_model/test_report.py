"""The decision makers' report from real models: content of the HTML, Excel and PDF."""

from __future__ import annotations

import io
from typing import Any

import pytest

from model_registry.registry import ModelRegistry
from risk_model.board import band_changes, compute_board
from risk_model.config import TARGETS, Settings
from risk_model.report import build_report, render
from risk_model.report.data import ReportData
from risk_model.store import Store


@pytest.fixture(scope="module")
def models(trained_home: Settings) -> dict[str, Any]:
    registry = ModelRegistry.from_settings(trained_home)
    return {t: registry.load(t) for t in TARGETS}


@pytest.fixture(scope="module")
def report(trained_home: Settings, models: dict[str, Any]) -> ReportData:
    return build_report(Store(trained_home.store_url), models, trained_home, top=3)


def test_report_ranks_the_worst_projects_first(report: ReportData) -> None:
    assert len(report.top) == 3 and len(report.sections) == 3
    worst = [r.worst() for r in report.rows if r.worst() >= 0]
    assert [r.worst() for r in report.top] == sorted(worst, reverse=True)[:3]
    for s in report.summaries:
        assert sum(s.per_band.values()) == s.scored
    for acc in report.accuracy:  # no backtest in this registry: the test split, said plainly
        assert acc.source == "test split" and "no backtest has been logged" in acc.text
        assert "ROC-AUC" in acc.text and acc.stages[0].stage == "overall"


def test_html_report_has_summary_pages_and_charts(report: ReportData) -> None:
    html = render(report, "html").decode()
    assert "Executive summary" in html and "How accurate is the model?" in html
    assert html.count('<section class="project">') == 3
    assert html.count("<svg") >= 3 * 2
    for r in report.top:
        assert r.project_id in html


def test_excel_report_has_formatted_tables(report: ReportData) -> None:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(render(report, "xlsx")))
    assert wb.sheetnames == [
        "Summary",
        "Top projects",
        "All projects",
        "Risks",
        "Accuracy",
        "Schedule quality",
    ]
    top = wb["Top projects"]
    assert [c.value for c in top["A"][1:]] == [r.project_id for r in report.top]
    assert top.tables and top.freeze_panes == "B2"
    assert top.cell(row=2, column=7).number_format == "0%"
    assert wb["All projects"].max_row == len(report.rows) + 1


def test_pdf_report_text(report: ReportData) -> None:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(render(report, "pdf")))
    text = "\n".join(p.extract_text() or "" for p in reader.pages)
    assert "Portfolio risk report" in text and report.top[0].project_id in text
    assert len(reader.pages) >= 1 + len(report.top)
    # every project page's charts are printed, as images (PNG: fast to print)
    # (WeasyPrint may list an image in several pages' resources: count distinct ones)
    images = {img.data for page in reader.pages for img in page.images}
    charts = sum(len(sec.charts) for sec in report.sections)
    assert charts >= 2 * len(report.sections) and len(images) == charts


def test_charts_draw_as_svg_with_text_or_as_png(report: ReportData) -> None:
    """HTML gets inline SVG whose labels are text (searchable, few nodes); PDF gets PNG with
    the chart's title as alt text."""
    chart = report.sections[0].charts["indices"]
    svg = chart.html("svg")
    assert svg.startswith("<svg") and "<text" in svg and "Performance indices" in svg
    png = chart.html("png")
    assert png.startswith('<img src="data:image/png;base64,') and f'alt="{chart.title}"' in png
    assert chart.png()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="chart format"):
        chart.html("gif")


def test_report_as_of_uses_only_reports_up_to_the_date(
    trained_home: Settings, models: dict[str, Any]
) -> None:
    store = Store(trained_home.store_url)
    snaps = store.snapshots()
    mid = snaps["as_of"].quantile(0.5)
    data = build_report(store, models, trained_home, as_of=mid.date(), top=2)
    assert data.as_of == mid.date()
    assert all(r.as_of is None or r.as_of <= mid.date() for r in data.rows)


def test_band_changes_list_only_moves_into_a_higher_band(
    trained_home: Settings, models: dict[str, Any]
) -> None:
    store = Store(trained_home.store_url)
    snaps = store.snapshots()
    since = snaps["as_of"].quantile(0.8)
    before = compute_board(store, models, trained_home, as_of=since)
    now = compute_board(store, models, trained_home)
    alerts = band_changes(before, now)
    names = list(trained_home.band_names)
    earlier = {r.project_id: r for r in before.rows}
    for a in alerts:
        assert names.index(a.band_now) > names.index(a.band_before)
        assert earlier[a.project_id].band[a.target] == a.band_before
    assert band_changes(now, now) == []


@pytest.fixture(scope="module")
def schedule_report(
    trained_home: Settings, models: dict[str, Any], simulated: Any, tmp_path_factory: Any
) -> ReportData:
    """A report of a store holding one project imported from two P6 updates and two from
    spreadsheet-like history (the simulated portfolio)."""
    from features.sources.importer import import_paths
    from features.sources.intake import survey
    from training.synthetic_schedule import write_synthetic_xer

    folder = tmp_path_factory.mktemp("xer")
    for name, progress, delay in (("u1.xer", 0.3, 5.0), ("u2.xer", 0.6, 40.0)):
        write_synthetic_xer(folder / name, n_activities=90, n_relationships=130, seed=8,
                            progress=progress, delay_days=delay, cost_overrun=0.2)  # fmt: skip
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('store') / 'store.db'}").init()
    active = simulated.projects.loc[simulated.projects["status"] == "active"].head(2)
    ids = list(active["project_id"])
    store.import_frames(
        active, simulated.snapshots.loc[simulated.snapshots["project_id"].isin(ids)]
    )
    import_paths(store, survey([folder]))
    return build_report(store, models, trained_home, top=3)


def test_report_pages_show_schedule_quality_or_say_there_is_no_schedule(
    schedule_report: ReportData,
) -> None:
    from openpyxl import load_workbook

    by_id = {s.row.project_id: s for s in schedule_report.sections}
    assert "SYN-1" in by_id and len(by_id) == 3
    findings = by_id["SYN-1"].schedule
    assert findings is not None and len(findings.checks) == 14
    assert all(s.schedule is None for pid, s in by_id.items() if pid != "SYN-1")
    html = render(schedule_report, "html").decode()
    assert html.count("Schedule quality (DCMA 14-point checks)") == 3
    assert f"Schedule update of {findings.as_of}" in html
    assert html.count("This project has no schedule") == 2
    for c in findings.checks:
        assert c.title in html
    wb = load_workbook(io.BytesIO(render(schedule_report, "xlsx")))
    sheet = wb["Schedule quality"]
    rows = list(sheet.iter_rows(min_row=2, max_row=15, values_only=True))
    assert [r[0] for r in rows] == ["SYN-1"] * 14
    assert [r[7] for r in rows] == [c.result for c in findings.checks]
    assert any("No schedule imported for" in str(r[0]) for r in sheet.iter_rows(values_only=True))


@pytest.fixture(scope="module")
def backtested(
    trained_home: Settings, simulated: Any, tmp_path_factory: Any
) -> tuple[ModelRegistry, dict[str, Any], str]:
    """A private copy of the trained registry with a real schedule backtest logged twice by
    ``pmo-risk evaluate``'s logger (once for another target list first); returns the
    registry, backtest.json and the newest run's id."""
    import json
    import shutil

    from training.backtest import run_backtest
    from training.backtest_report import log_report, write_report

    folder = tmp_path_factory.mktemp("registry")
    shutil.copy(trained_home.home / "mlflow.db", folder / "mlflow.db")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    bt = run_backtest(
        simulated.projects, simulated.snapshots, trained_home, target="schedule", folds=2
    )
    paths = write_report({"schedule": bt}, folder / "bt", title="t", meta={})
    for targets in ("cost", "schedule"):  # the older run does not cover the schedule target
        run_id = log_report(
            {"schedule": bt} if targets == "schedule" else {},
            paths,
            tracking_uri=uri,
            artifact_root=folder / "artifacts",
            params={"targets": targets, "folds": 2},
        )
    figures = json.loads(paths[0].read_text())["targets"]["schedule"]
    return ModelRegistry(uri, folder / "artifacts"), figures, run_id


def test_accuracy_comes_from_the_latest_backtest_when_there_is_one(
    trained_home: Settings, models: dict[str, Any], backtested: Any
) -> None:
    from openpyxl import load_workbook
    from pypdf import PdfReader

    from risk_model.report.accuracy import backtest_groups, best_baseline

    registry, figures, run_id = backtested
    record = registry.latest_backtest("schedule")
    assert record is not None and record.run_id == run_id
    assert registry.latest_backtest("cost") is None  # the cost-only run holds no cost figures
    backtests = registry.latest_backtests(models)
    data = build_report(
        Store(trained_home.store_url), models, trained_home, top=1, backtests=backtests
    )
    by_target = {a.target: a for a in data.accuracy}
    sched = by_target["schedule"]
    assert sched.source == "backtest"
    assert f"backtest of {record.started_at:%Y-%m-%d}" in sched.text
    assert f"MLflow run {run_id[:8]}" in sched.text and "2 folds" in sched.text
    groups = backtest_groups(figures)
    baseline = best_baseline(groups["overall"])
    assert baseline is not None and baseline != "oracle" and sched.baseline == baseline
    assert sched.stages[0].stage == "overall" and len(sched.stages) >= 3
    for st in sched.stages:  # every figure is the backtest's own, stage by stage
        assert st.model_auc == pytest.approx(groups[st.stage]["model"]["roc_auc"])
        assert st.model_brier == pytest.approx(groups[st.stage]["model"]["brier"])
        assert st.baseline_auc == pytest.approx(groups[st.stage][baseline]["roc_auc"])
        assert f"{st.model_auc:.2f}" in sched.text
    assert by_target["cost"].source == "test split"  # no backtest of cost: the fallback

    html = render(data, "html").decode()
    assert "From the backtest." in html and "No backtest yet: from the single test split." in html
    assert f"{sched.stages[0].model_brier:.3f}" in html
    text = "\n".join(
        p.extract_text() or "" for p in PdfReader(io.BytesIO(render(data, "pdf"))).pages
    )
    assert "From the backtest." in text and f"MLflow run {run_id[:8]}" in text
    sheet = load_workbook(io.BytesIO(render(data, "xlsx")))["Accuracy"]
    rows = [r for r in sheet.iter_rows(min_row=2, values_only=True) if r[0] == "schedule"]
    assert [r[1] for r in rows] == ["backtest"] * len(sched.stages)
    assert rows[0][3] == pytest.approx(sched.stages[0].model_auc)
