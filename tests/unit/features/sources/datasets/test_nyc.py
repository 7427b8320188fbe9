"""The NYC capital projects loader: mapping, point-in-time baseline, validation, cache.

Tests on the real 2019 copy read it from the shared data folder by path (never copied, never
downloaded); download and cache tests use a local HTTP server or a local socket.
"""

from __future__ import annotations

import csv
import os
import select
import socket
import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest

from features.pipeline import build_features
from features.sources.datasets.nyc import CACHE_NAME, load_nyc
from risk_model.exceptions import SourceUnavailable, ValidationFailed
from risk_model.store import Store


def _shared_data() -> Path:
    env = os.environ.get("PMO_RISK_SHARED_DATA")
    if env:
        return Path(env)
    beside = Path(__file__).resolve().parents[5].parent / "shared" / "data"
    return beside if beside.is_dir() else Path("/work/shared/data")


NYC_FILE = _shared_data() / "nyc_capital_projects" / "NYC_capital_projects_20190901.csv"
needs_data = pytest.mark.skipif(
    not NYC_FILE.is_file(),
    reason=f"the shared NYC data copy is absent ({NYC_FILE}); set PMO_RISK_SHARED_DATA",
)

HEADER = [
    "Date Reported As Of",
    "PID",
    "Project Name",
    "Description",
    "Category",
    "Borough",
    "Managing Agency",
    "Client Agency",
    "Current Phase",
    "Design Start",
    "Budget Forecast",
    "Latest Budget Changes",
    "Total Budget Changes",
    "Forecast Completion",
    "Latest Schedule Changes",
    "Total Schedule Changes",
]


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def write_rows(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=HEADER)
        writer.writeheader()
        writer.writerows(rows)
    return path


def row(pid: str, reported: str, **fields: str) -> dict[str, str]:
    """One export row with plausible values; ``fields`` override by export column name."""
    base = {
        "Date Reported As Of": f"{reported} 12:00:00 AM",
        "PID": pid,
        "Project Name": f"Project {pid}",
        "Description": "",
        "Category": "Bridges",
        "Borough": "Queens",
        "Managing Agency": "DOT",
        "Client Agency": "",
        "Current Phase": "Design",
        "Design Start": "01/15/2015",
        "Budget Forecast": "1000000",
        "Latest Budget Changes": "",
        "Total Budget Changes": "0",
        "Forecast Completion": "06/30/2020",
        "Latest Schedule Changes": "",
        "Total Schedule Changes": "0",
    }
    base.update({k.replace("_", " "): v for k, v in fields.items()})
    return base


def _money(text: str) -> float | None:
    return float(text.replace("$", "").replace(",", "")) if text.strip() else None


def _date(text: str) -> pd.Timestamp | None:
    return pd.Timestamp(datetime.strptime(text[:10], "%m/%d/%Y")) if text.strip() else None


@pytest.fixture(scope="module")
def nyc() -> tuple[pd.DataFrame, pd.DataFrame]:
    if not NYC_FILE.is_file():
        pytest.skip(f"the shared NYC data copy is absent ({NYC_FILE})")
    return load_nyc(NYC_FILE)


@pytest.fixture(scope="module")
def raw_rows() -> list[dict[str, str]]:
    if not NYC_FILE.is_file():
        pytest.skip(f"the shared NYC data copy is absent ({NYC_FILE})")
    return read_rows(NYC_FILE)


# --- the real 2019 copy ------------------------------------------------------------------


@needs_data
def test_counts_match_the_data_readme(
    nyc: tuple[pd.DataFrame, pd.DataFrame], raw_rows: list[dict[str, str]]
) -> None:
    """378 projects and 15 report dates; every row is a snapshot unless it carries no report."""
    projects, snapshots = nyc
    assert len(raw_rows) == 2259  # the data README's row count
    assert len(projects) == projects["project_id"].nunique() == 378
    assert snapshots["as_of"].nunique() == 15
    empty = [
        r
        for r in raw_rows
        if not any(
            r[c].strip()
            for c in ("Current Phase", "Design Start", "Budget Forecast", "Forecast Completion")
        )
    ]
    assert len(snapshots) == len(raw_rows) - len(empty)
    assert not snapshots.duplicated(["project_id", "as_of"]).any()
    assert snapshots["as_of"].min() == pd.Timestamp("2013-09-01")
    assert snapshots["as_of"].max() == pd.Timestamp("2019-09-01")


@needs_data
def test_first_report_reproduces_from_the_baseline(
    nyc: tuple[pd.DataFrame, pd.DataFrame], raw_rows: list[dict[str, str]]
) -> None:
    """Baseline plus the first report's latest change is the first report's forecast."""
    projects, snapshots = nyc
    base = projects.set_index("project_id")
    by_date = sorted(
        raw_rows, key=lambda r: datetime.strptime(r["Date Reported As Of"][:10], "%m/%d/%Y")
    )
    first_budget: dict[str, dict[str, str]] = {}
    first_finish: dict[str, dict[str, str]] = {}
    for r in by_date:
        if (_money(r["Budget Forecast"]) or 0) > 0:
            first_budget.setdefault(r["PID"], r)
        if r["Forecast Completion"].strip():
            first_finish.setdefault(r["PID"], r)
    assert len(first_budget) > 300 and len(first_finish) > 300
    for pid, r in first_budget.items():
        change = _money(r["Latest Budget Changes"]) or 0.0
        expected = _money(r["Budget Forecast"])
        assert expected is not None
        if expected - change <= 0:  # no budget before the first report: not a baseline
            assert pd.isna(base.at[pid, "baseline_budget"])
            continue
        assert base.at[pid, "baseline_budget"] + change == pytest.approx(expected, rel=1e-12)
    for pid, r in first_finish.items():
        days = _money(r["Latest Schedule Changes"]) or 0.0
        expected_day = _date(r["Forecast Completion"])
        assert base.at[pid, "baseline_finish"] + pd.Timedelta(days=days) == expected_day
    unchanged = 0
    for pid, r in first_budget.items():
        if (
            r is first_finish.get(pid)
            and not r["Latest Budget Changes"].strip()
            and not r["Latest Schedule Changes"].strip()
        ):
            unchanged += 1
            snap = snapshots[
                (snapshots["project_id"] == pid)
                & (snapshots["as_of"] == _date(r["Date Reported As Of"]))
            ].iloc[0]
            assert snap["forecast_cost"] == base.at[pid, "baseline_budget"]
            assert snap["forecast_finish"] == base.at[pid, "baseline_finish"]
    assert unchanged > 200


@needs_data
def test_baseline_agrees_with_the_dashboards_own_totals(
    nyc: tuple[pd.DataFrame, pd.DataFrame], raw_rows: list[dict[str, str]]
) -> None:
    """Last forecast − baseline equals the export's Total ... Changes for nearly every project.

    The loader never reads the totals; this checks its point-in-time baseline against them.
    """
    projects, snapshots = nyc
    base = projects.set_index("project_id")
    totals = {r["PID"]: r for r in raw_rows}
    last_cost = snapshots.dropna(subset=["forecast_cost"]).groupby("project_id").last()
    last_finish = snapshots.dropna(subset=["forecast_finish"]).groupby("project_id").last()
    cost_hits = cost_known = days_hits = days_known = 0
    for pid, r in totals.items():
        total = _money(r["Total Budget Changes"])
        if total is not None and pid in last_cost.index:
            cost_known += 1
            growth = last_cost.at[pid, "forecast_cost"] - base.at[pid, "baseline_budget"]
            cost_hits += abs(growth - total) < 1.0
        total_days = _money(r["Total Schedule Changes"])
        if total_days is not None and pid in last_finish.index:
            days_known += 1
            slip = (last_finish.at[pid, "forecast_finish"] - base.at[pid, "baseline_finish"]).days
            days_hits += slip == total_days
    assert cost_known > 300 and days_known > 300
    assert cost_hits / cost_known > 0.97
    assert days_hits / days_known > 0.97


@needs_data
def test_total_changes_never_reach_the_frames(
    tmp_path: Path, raw_rows: list[dict[str, str]]
) -> None:
    """Changing every Total ... Changes cell (later reports, then all) leaves the output alone."""
    original = load_nyc(NYC_FILE)
    seen: set[str] = set()
    later, every = [], []
    for i, r in enumerate(raw_rows):
        first = r["PID"] not in seen
        seen.add(r["PID"])
        bumped = dict(r, **{"Total Budget Changes": str(7_654_321 + i)})
        bumped["Total Schedule Changes"] = str(400 + i % 97)
        later.append(r if first else bumped)
        every.append(bumped)
    assert later != raw_rows and every != later
    for variant in (later, every):
        projects, snapshots = load_nyc(write_rows(tmp_path / "perturbed.csv", variant))
        pd.testing.assert_frame_equal(projects, original[0])
        pd.testing.assert_frame_equal(snapshots, original[1])


@needs_data
def test_frames_import_into_a_store_and_build_features(
    nyc: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path
) -> None:
    projects, snapshots = nyc
    store = Store(f"sqlite:///{tmp_path / 'store.db'}").init()
    try:
        summary = store.import_frames(projects, snapshots)
        assert summary.projects_inserted == len(projects)
        assert summary.snapshots_inserted == len(snapshots)
        stored = store.projects()
        assert set(stored["project_id"]) == set(projects["project_id"])
        assert set(stored["portfolio"].dropna()) == set(projects["portfolio"].dropna())
        assert {"borough", "client_agency", "description"} <= set(stored.columns)
        assert len(store.snapshots()) == len(snapshots)
        again = store.import_frames(projects, snapshots)
        assert again.projects_inserted + again.projects_updated == 0
        assert again.snapshots_inserted + again.snapshots_updated == 0
    finally:
        store.dispose()
    features = build_features(projects, snapshots)
    with_reports = projects["project_id"].isin(snapshots["project_id"])
    assert len(features) == len(snapshots) + int((~with_reports).sum())
    assert features["forecast_slip"].notna().mean() > 0.9


@needs_data
def test_no_project_of_the_2019_copy_is_completed(nyc: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    """Outcomes are unknown in 2019: every project is active with no actual finish or cost."""
    projects, _ = nyc
    assert set(projects["status"]) == {"active"}
    assert projects["actual_finish"].isna().all()
    assert projects["actual_cost"].isna().all()


@needs_data
def test_malformed_cells_name_file_row_and_column(
    tmp_path: Path, raw_rows: list[dict[str, str]]
) -> None:
    rows = [dict(r) for r in raw_rows]
    rows[10]["Forecast Completion"] = "13/45/2020"
    rows[500]["Budget Forecast"] = "$12,34x"
    path = write_rows(tmp_path / "broken.csv", rows)
    with pytest.raises(ValidationFailed) as caught:
        load_nyc(path)
    found = {(p.file, p.row, p.column, p.value) for p in caught.value.problems}
    assert found == {
        ("broken.csv", 12, "Forecast Completion", "13/45/2020"),
        ("broken.csv", 502, "Budget Forecast", "$12,34x"),
    }
    assert "broken.csv row 12, column Forecast Completion" in str(caught.value)


# --- rules on small files ------------------------------------------------------------------


def test_money_with_symbols_and_both_date_forms_are_read(tmp_path: Path) -> None:
    path = write_rows(
        tmp_path / "small.csv",
        [
            row(
                "7", "01/01/2016", Budget_Forecast="$1,250,000.50", Forecast_Completion="2020-06-30"
            ),
            row(
                "7",
                "06/01/2016",
                Budget_Forecast=" $1,300,000 ",
                Latest_Budget_Changes="$49,999.50",
                Forecast_Completion="07/30/2020 12:00:00 AM",
                Latest_Schedule_Changes="30",
            ),
        ],
    )
    projects, snapshots = load_nyc(path)
    assert projects.at[0, "baseline_budget"] == 1_250_000.50
    assert projects.at[0, "baseline_finish"] == pd.Timestamp("2020-06-30")
    assert projects.at[0, "start_date"] == pd.Timestamp("2015-01-15")
    assert list(snapshots["forecast_cost"]) == [1_250_000.50, 1_300_000.0]
    assert list(snapshots["forecast_finish"]) == [
        pd.Timestamp("2020-06-30"),
        pd.Timestamp("2020-07-30"),
    ]


def test_first_report_change_is_taken_out_of_the_baseline(tmp_path: Path) -> None:
    path = write_rows(
        tmp_path / "small.csv",
        [
            row(
                "9",
                "05/01/2014",
                Budget_Forecast="900",
                Latest_Budget_Changes="-100",
                Forecast_Completion="01/31/2020",
                Latest_Schedule_Changes="31",
            ),
            row("9", "02/01/2015", Budget_Forecast="950", Latest_Budget_Changes="50"),
        ],
    )
    projects, _ = load_nyc(path)
    assert projects.at[0, "baseline_budget"] == 1000.0
    assert projects.at[0, "baseline_finish"] == pd.Timestamp("2019-12-31")


def test_blank_reports_are_skipped_and_non_positive_budgets_are_missing(tmp_path: Path) -> None:
    blank = {
        "Current Phase": "",
        "Design Start": "",
        "Budget Forecast": "",
        "Forecast Completion": "",
    }
    path = write_rows(
        tmp_path / "small.csv",
        [
            row("1", "01/01/2016", Budget_Forecast="0"),
            row("1", "06/01/2016", Budget_Forecast="-40", Latest_Budget_Changes="-40"),
            row("1", "11/01/2016", Budget_Forecast="500"),
            row("1", "04/01/2017", **{k.replace(" ", "_"): v for k, v in blank.items()}),
            row("2", "04/01/2017", **{k.replace(" ", "_"): v for k, v in blank.items()}),
        ],
    )
    messages: list[str] = []
    projects, snapshots = load_nyc(path, progress=messages.append)
    assert list(snapshots["as_of"]) == [
        pd.Timestamp("2016-01-01"),
        pd.Timestamp("2016-06-01"),
        pd.Timestamp("2016-11-01"),
    ]
    assert snapshots["forecast_cost"].isna().tolist() == [True, True, False]
    by_id = projects.set_index("project_id")
    assert by_id.at["1", "baseline_budget"] == 500.0  # the first report that has a budget
    assert by_id.at["1", "start_date"] == pd.Timestamp("2015-01-15")
    assert pd.isna(by_id.at["2", "baseline_budget"])  # listed, never reported
    assert by_id.at["2", "start_date"] == pd.Timestamp("2017-04-01")
    assert any("2 rows carry no report" in m for m in messages)
    assert any("2 budget forecasts of zero or less" in m for m in messages)


def test_start_falls_back_to_the_first_report_and_ignores_later_design_starts(
    tmp_path: Path,
) -> None:
    path = write_rows(
        tmp_path / "small.csv",
        [
            row("3", "01/01/2016", Design_Start=""),
            row("3", "06/01/2016", Design_Start="03/01/2014"),
            row("4", "01/01/2016", Design_Start="02/01/2015"),
            row("4", "06/01/2016", Design_Start="08/01/2016"),
        ],
    )
    projects, _ = load_nyc(path)
    by_id = projects.set_index("project_id")
    assert by_id.at["3", "start_date"] == pd.Timestamp("2016-01-01")
    assert by_id.at["4", "start_date"] == pd.Timestamp("2015-02-01")


def test_a_project_is_completed_only_when_its_last_report_says_so(tmp_path: Path) -> None:
    path = write_rows(
        tmp_path / "small.csv",
        [
            row("5", "01/01/2016", Current_Phase="Construction"),
            row(
                "5",
                "06/01/2016",
                Current_Phase="Close-Out",
                Budget_Forecast="1200000",
                Forecast_Completion="05/15/2016",
            ),
            row("6", "01/01/2016", Current_Phase="Close-Out"),
            row("6", "06/01/2016", Current_Phase="Construction"),
            row("8", "06/01/2016", Current_Phase="Construction", Forecast_Completion="01/01/2016"),
        ],
    )
    projects, _ = load_nyc(path)
    by_id = projects.set_index("project_id")
    assert by_id.at["5", "status"] == "completed"
    assert by_id.at["5", "actual_finish"] == pd.Timestamp("2016-05-15")
    assert by_id.at["5", "actual_cost"] == 1_200_000.0
    for pid in ("6", "8"):
        assert by_id.at[pid, "status"] == "active"
        assert pd.isna(by_id.at[pid, "actual_finish"])


def test_attributes_are_text_and_the_agency_is_the_portfolio(tmp_path: Path) -> None:
    path = write_rows(
        tmp_path / "small.csv",
        [row("11", "01/01/2016", Client_Agency="DEP, DOT", Description="A new bridge.")],
    )
    projects, _ = load_nyc(path)
    assert projects.at[0, "portfolio"] == "DOT"
    assert projects.at[0, "client_agency"] == "DEP, DOT"
    assert projects.at[0, "borough"] == "Queens"
    assert projects.at[0, "currency"] == "USD"
    assert (
        build_features(projects, pd.DataFrame({"project_id": [], "as_of": []}))
        .filter(like="attr_")
        .empty
    )


def test_problems_are_all_reported_in_the_exports_terms(tmp_path: Path) -> None:
    path = write_rows(
        tmp_path / "bad.csv",
        [
            row("1", "01/01/2016"),
            row("", "06/01/2016"),
            row("2", "not a date"),
            row("3", "01/01/2016", Latest_Schedule_Changes="2.5"),
            row("1", "01/01/2016"),
        ],
    )
    with pytest.raises(ValidationFailed) as caught:
        load_nyc(path)
    found = {(p.row, p.column) for p in caught.value.problems}
    assert found == {
        (3, "PID"),
        (4, "Date Reported As Of"),
        (5, "Latest Schedule Changes"),
    }
    # once the cells parse, the repeated report is reported on its later row
    rows = read_rows(path)
    rows[1]["PID"], rows[2]["Date Reported As Of"] = "4", "06/01/2016"
    rows[3]["Latest Schedule Changes"] = "2"
    with pytest.raises(ValidationFailed) as again:
        load_nyc(write_rows(tmp_path / "bad2.csv", rows))
    assert [(p.file, p.row, p.column) for p in again.value.problems] == [
        ("bad2.csv", 6, "Date Reported As Of")
    ]


def test_a_missing_column_is_named(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text("Date Reported As Of,PID,Budget Forecast\n01/01/2016,1,100\n")
    with pytest.raises(ValidationFailed) as caught:
        load_nyc(path)
    assert {p.column for p in caught.value.problems} == {
        "Latest Budget Changes",
        "Forecast Completion",
        "Latest Schedule Changes",
    }
    assert all(p.file == "short.csv" and p.row is None for p in caught.value.problems)


# --- download and cache ------------------------------------------------------------------


@pytest.fixture
def listener() -> Iterator[tuple[str, socket.socket]]:
    """A local listening socket that never answers: a URL and the socket to check."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(4)
    sock.setblocking(False)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/rows.csv", sock
    finally:
        sock.close()


def small_export(path: Path) -> Path:
    return write_rows(
        path, [row("1", "01/01/2016"), row("1", "06/01/2016", Budget_Forecast="1100000")]
    )


def test_the_cached_copy_is_used_without_contacting_the_url(
    tmp_path: Path, listener: tuple[str, socket.socket]
) -> None:
    url, sock = listener
    cache = tmp_path / "cache"
    cache.mkdir()
    small_export(cache / CACHE_NAME)
    messages: list[str] = []
    projects, snapshots = load_nyc(cache_dir=cache, url=url, progress=messages.append)
    assert len(projects) == 1 and len(snapshots) == 2
    readable, _, _ = select.select([sock], [], [], 0.2)
    assert readable == []  # nobody connected to the URL
    assert any("cached" in m for m in messages)


def test_offline_without_a_cache_is_a_clear_error(tmp_path: Path) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    cache = tmp_path / "cache"
    with pytest.raises(SourceUnavailable, match=r"cannot download .* no cached copy") as caught:
        load_nyc(cache_dir=cache, url=f"http://127.0.0.1:{port}/rows.csv")
    assert "--file" in str(caught.value)
    assert list(cache.iterdir()) == []


class _Export(BaseHTTPRequestHandler):
    body = b""
    hits = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, type[_Export]]]:
    handler = type("Handler", (_Export,), {"body": b"", "hits": 0})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/rows.csv", handler
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_download_fills_the_cache_once(tmp_path: Path, server: tuple[str, type[_Export]]) -> None:
    url, handler = server
    handler.body = small_export(tmp_path / "export.csv").read_bytes()
    cache = tmp_path / "cache"
    first = load_nyc(cache_dir=cache, url=url)
    second = load_nyc(cache_dir=cache, url=url)
    assert handler.hits == 1
    assert (cache / CACHE_NAME).read_bytes() == handler.body
    assert [p.name for p in cache.iterdir()] == [CACHE_NAME]
    pd.testing.assert_frame_equal(first[0], second[0])
    pd.testing.assert_frame_equal(first[1], second[1])


def test_a_page_that_is_not_the_export_is_not_cached(
    tmp_path: Path, server: tuple[str, type[_Export]]
) -> None:
    url, handler = server
    handler.body = b"<html><body>Service unavailable</body></html>\n"
    cache = tmp_path / "cache"
    with pytest.raises(SourceUnavailable, match="did not return the NYC capital projects CSV"):
        load_nyc(cache_dir=cache, url=url)
    assert list(cache.iterdir()) == []


def test_no_file_and_no_cache_directory_is_refused() -> None:
    with pytest.raises(ValueError, match="file path or a cache directory"):
        load_nyc()
