"""Rolling-origin backtest: what the model would have said, report by report, and what happened.

At each cut-off date ``c_k`` the model is trained only on what was known at ``c_k``:

- the history is cut at ``c_k`` (reports dated after it are dropped; a project that finished
  after it is treated as active: no status, no actual finish or cost);
- features, labels, the training / calibration split, the calibration and every baseline's
  probability map are computed from that cut history alone (outcome targets learn from
  projects finished by ``c_k``; the forward target from reports whose window closed by ``c_k``);
- the fold's model then scores every report dated in ``(c_k, c_{k+1}]`` — the projects active
  at that time, as a PMO would have seen them — and those scores are compared with what
  eventually happened (labels from the full history).

Pooling the folds gives, for each project, the sequence of alarms a PMO would have seen, so the
early-warning lead time is measured the way it would have been lived. Alarm thresholds are fixed
in advance (``Settings.alarm_threshold``; the EVM rule's 0.9), never chosen on the test rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from features.pipeline import build_features, feature_columns
from risk_model.config import Settings, target_kind
from risk_model.estimator import RiskClassifier
from risk_model.exceptions import InsufficientData
from training.baselines import fit_baselines
from training.evaluate import Result, evaluate_target, flatten_metrics, stage_of
from training.labels import Labelled, labelled_rows, split_train_cal
from training.train import new_model

Progress = Callable[[str], None]
DAYS_PER_MONTH = 30.4375
MIN_TRAIN_PROJECTS = 50
MIN_TEST_SHARE = 0.05  # the last cut-off leaves at least this share of labelled reports to test


def _noop(_: str) -> None:
    return None


# -- the history as known at a date ----------------------------------------------------------
def history_at(
    projects: pd.DataFrame, snapshots: pd.DataFrame, cutoff: pd.Timestamp
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Projects and snapshots as they were known at ``cutoff`` (inclusive).

    Reports after the cut-off are dropped; a project whose actual finish is after the cut-off
    (or unknown) loses its outcome (status, actual finish, actual cost), because at the cut-off
    it was still running. Static fields (start, baseline, category...) are kept: they are known
    from approval. Projects that started after the cut-off are dropped.
    """
    cut = pd.Timestamp(cutoff)
    snaps = snapshots.loc[pd.to_datetime(snapshots["as_of"]) <= cut].copy()
    proj = projects.copy()
    start = pd.to_datetime(proj["start_date"])
    proj = proj.loc[start.isna() | (start <= cut) | proj["project_id"].isin(snaps["project_id"])]
    finish = pd.to_datetime(proj["actual_finish"])
    unknown = finish.isna() | (finish > cut)
    proj.loc[unknown, "actual_finish"] = pd.NaT
    proj.loc[unknown, "actual_cost"] = np.nan
    status = proj["status"].astype("object")
    proj["status"] = status.where(~(unknown & status.isin(["completed"])), "active")
    return proj.reset_index(drop=True), snaps.reset_index(drop=True)


# -- cut-offs --------------------------------------------------------------------------------
def _trainable_from(labelled: Labelled, dates: Sequence[pd.Timestamp]) -> pd.Timestamp | None:
    """The first report date by which enough labels (projects, both classes) were known."""
    label_date = labelled.label_date
    pid = labelled.rows["project_id"]
    for d in dates:
        known = (label_date <= d).to_numpy()
        if (
            pid[known].nunique() >= MIN_TRAIN_PROJECTS
            and labelled.y[known].nunique() == 2
            and labelled.y[known].sum() >= 5
        ):
            return d
    return None


def choose_cutoffs(
    labelled: Labelled, report_dates: Sequence[pd.Timestamp], folds: int
) -> list[pd.Timestamp]:
    """``folds`` cut-offs spread over the dates at which the model could have been trained.

    The first is the earliest report date by which at least ``MIN_TRAIN_PROJECTS`` projects'
    labels (both classes) were known, with room for a calibration set; the rest are report
    dates spread evenly up to the last date that leaves ``MIN_TEST_SHARE`` of the labelled
    reports after it.
    """
    dates = sorted(pd.to_datetime(pd.Series(report_dates)).dropna().unique())
    start = _trainable_from(labelled, [pd.Timestamp(d) for d in dates])
    if start is None:
        raise InsufficientData(
            f"{labelled.target}: never enough known labels to train "
            f"({labelled.rows['project_id'].nunique()} projects have labels in the whole history)"
        )
    # Leave room for a calibration part: the first cut-off is where ~1/0.7 more labels exist.
    known_at_start = int((labelled.label_date <= start).sum())
    need = math.ceil(known_at_start / 0.7)
    ordered = labelled.label_date.sort_values().reset_index(drop=True)
    if need < len(ordered):
        start = max(start, ordered.iloc[need - 1])
    made = pd.to_datetime(labelled.rows["as_of"]).sort_values().reset_index(drop=True)
    last_cut = made.iloc[max(0, int(len(made) * (1 - MIN_TEST_SHARE)) - 1)]
    candidates = [pd.Timestamp(d) for d in dates if start <= pd.Timestamp(d) < last_cut]
    if not candidates:
        raise InsufficientData(f"{labelled.target}: no report date is left to test after training")
    if len(candidates) <= folds:
        return candidates
    picks = np.linspace(0, len(candidates) - 1, folds).round().astype(int)
    return [candidates[i] for i in sorted(set(picks.tolist()))]


# -- one fold --------------------------------------------------------------------------------
@dataclass
class Fold:
    """One cut-off: what was trained, what was scored."""

    cutoff: pd.Timestamp
    until: pd.Timestamp
    train_projects: int = 0
    train_rows: int = 0
    cal_rows: int = 0
    test_projects: int = 0
    test_rows: int = 0
    skipped: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "cutoff": str(self.cutoff.date()),
            "until": str(self.until.date()),
            "train_projects": self.train_projects,
            "train_rows": self.train_rows,
            "cal_rows": self.cal_rows,
            "test_projects": self.test_projects,
            "test_rows": self.test_rows,
            "skipped": self.skipped,
        }


def _fit_fold(
    projects: pd.DataFrame,
    snapshots: pd.DataFrame,
    target: str,
    cutoff: pd.Timestamp,
    settings: Settings,
) -> tuple[RiskClassifier, Any, Labelled, Any, Any]:
    """Model, baselines, the cut history's labelled rows, split, and the size model at a cut-off."""
    proj_c, snaps_c = history_at(projects, snapshots, cutoff)
    features_c = build_features(proj_c, snaps_c)
    features_c = features_c.loc[pd.to_datetime(features_c["as_of"]) <= cutoff].reset_index(
        drop=True
    )
    labelled = labelled_rows(features_c, proj_c, snaps_c, target, settings)
    # Labels must be known at the cut-off (true by construction; asserted for safety).
    labelled = labelled.subset((labelled.label_date <= cutoff).to_numpy())
    train, cal = split_train_cal(labelled, cal_fraction=0.25)
    y = labelled.y
    for name, mask in (("training", train), ("calibration", cal)):
        if not mask.any() or y[mask].nunique() < 2:
            raise InsufficientData(f"the {name} part at this cut-off holds a single class")
    columns = feature_columns(labelled.rows)
    rows = labelled.rows
    model = new_model(target, rows.loc[train], columns, settings)
    model.fit(rows.loc[train, columns], y[train], rows.loc[cal, columns], y[cal])
    baselines = fit_baselines(
        rows, y, train_mask=train, target=target, threshold=settings.threshold(target)
    )
    sizer = None
    if target_kind(target) == "outcome":
        sizer = _fit_size(labelled, train, cal, columns, target, settings)
    return model, baselines, labelled, (train, cal), sizer


def _fit_size(
    labelled: Labelled,
    train: np.ndarray,
    cal: np.ndarray,
    columns: list[str],
    target: str,
    settings: Settings,
) -> Any:
    from training.sizes import range_model

    ratio = labelled.ratio
    ok_train = train & ratio.notna().to_numpy()
    ok_cal = cal & ratio.notna().to_numpy()
    if ok_train.sum() < 50 or ok_cal.sum() < 20:
        return None
    rows = labelled.rows
    model = range_model(target, columns, settings)
    model.fit(
        rows.loc[ok_train, columns], ratio[ok_train], rows.loc[ok_cal, columns], ratio[ok_cal]
    )
    return model


# -- early warning ---------------------------------------------------------------------------
def _sustained_from(alarm: np.ndarray) -> int | None:
    """Index of the first report from which the alarm stayed on to the last report; None if
    it is off at the last report."""
    if len(alarm) == 0 or not alarm[-1]:
        return None
    off = np.flatnonzero(~alarm)
    return int(off[-1] + 1) if len(off) else 0


def early_warning(
    scored: pd.DataFrame,
    baseline_finish: pd.Series,
    alarms: dict[str, str],
    threshold: float,
) -> dict[str, Any]:
    """Lead time and false alarms per alarm source, from each project's sequence of reports.

    ``scored`` holds ``project_id``, ``as_of``, ``y`` (0/1: did it overrun) and the columns in
    ``alarms`` (label -> column; the model's column is a probability, alarmed at ``threshold``;
    any other is a 0/1 rule, alarmed when 1). For each project that overran, the warning is the
    first report from which the alarm stayed on through its last scored report; its lead is the
    months from that report to the baseline finish (negative: after the baseline finish). A
    project whose alarm is off at its last report was not warned. For projects that did not
    overrun, the false-alarm rate is the share alarmed at any report (``false_alarm_rate``) and
    the share still alarmed at their last report (``false_alarm_rate_sustained``).
    """
    frame = scored.sort_values(["project_id", "as_of"], kind="mergesort")
    finish = pd.to_datetime(frame["project_id"].map(baseline_finish))
    out: dict[str, Any] = {"threshold": threshold}
    for label, column in alarms.items():
        values = frame[column].to_numpy(dtype="float64")
        on = values >= threshold if label == "model" else values >= 0.5
        on = on & ~np.isnan(values)
        leads: list[float] = []
        warned = missed = 0
        false_any = false_last = negatives = 0
        per_project = pd.DataFrame(
            {"pid": frame["project_id"].to_numpy(), "on": on, "y": frame["y"].to_numpy()}
        )
        as_of = pd.to_datetime(frame["as_of"]).to_numpy()
        fin = finish.to_numpy()
        for _, idx in per_project.groupby("pid", sort=False).indices.items():
            a = per_project["on"].to_numpy()[idx]
            if per_project["y"].to_numpy()[idx][0] == 1:
                first = _sustained_from(a)
                if first is None:
                    missed += 1
                    continue
                warned += 1
                gap = (fin[idx][first] - as_of[idx][first]) / np.timedelta64(1, "D")
                if not np.isnan(gap):
                    leads.append(float(gap) / DAYS_PER_MONTH)
            else:
                negatives += 1
                false_any += int(a.any())
                false_last += int(a[-1])
        overran = warned + missed
        out[label] = {
            "overran_projects": overran,
            "warned": warned,
            "warned_share": warned / overran if overran else math.nan,
            "median_lead_months": float(np.median(leads)) if leads else math.nan,
            "lead_months": [round(x, 2) for x in leads],
            "on_time_projects": negatives,
            "false_alarm_rate": false_any / negatives if negatives else math.nan,
            "false_alarm_rate_sustained": false_last / negatives if negatives else math.nan,
        }
    return out


# -- the backtest ----------------------------------------------------------------------------
@dataclass
class Backtest:
    """Everything a backtest of one target measured (``to_dict`` gives every figure)."""

    target: str
    kind: str
    cutoffs: list[pd.Timestamp]
    folds: list[Fold]
    scored: pd.DataFrame
    evaluation: Result
    scorers: dict[str, Any]
    early_warning: dict[str, Any] | None
    sizes: Result | None
    definition: dict[str, Any] = field(default_factory=dict)

    def metrics(self) -> dict[str, float]:
        """Flat metric names for MLflow (``backtest.<target>.overall.model.roc_auc``...)."""
        flat = flatten_metrics(self.evaluation, f"backtest.{self.target}")
        if self.sizes is not None:
            flat.update(flatten_metrics(self.sizes, f"backtest.{self.target}.size"))
        if self.early_warning:
            for label in ("model", "evm_rule"):
                ew = self.early_warning.get(label)
                if not ew:
                    continue
                for key in ("median_lead_months", "false_alarm_rate", "warned_share"):
                    flat[f"backtest.{self.target}.early_warning.{label}.{key}"] = float(ew[key])
        return {k: v for k, v in flat.items() if not (isinstance(v, float) and math.isnan(v))}

    def to_dict(self) -> dict[str, Any]:
        return _clean(
            {
                "target": self.target,
                "kind": self.kind,
                "definition": self.definition,
                "cutoffs": [str(c.date()) for c in self.cutoffs],
                "folds": [f.to_dict() for f in self.folds],
                "rows": len(self.scored),
                "projects": int(self.scored["project_id"].nunique()) if len(self.scored) else 0,
                "positive_rate": float(self.scored["y"].mean()) if len(self.scored) else None,
                "metrics": self.evaluation,
                "early_warning": self.early_warning,
                "size": self.sizes,
            }
        )


def _clean(value: Any) -> Any:
    """JSON-safe: NaN/inf -> None, numpy scalars -> Python."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def run_backtest(
    projects: pd.DataFrame,
    snapshots: pd.DataFrame,
    settings: Settings,
    *,
    target: str,
    folds: int | None = None,
    cutoffs: Sequence[pd.Timestamp | str] | None = None,
    oracle: pd.DataFrame | None = None,
    progress: Progress = _noop,
) -> Backtest:
    """Rolling-origin backtest of ``target`` (see the module docstring)."""
    from training.train import target_definition

    kind = target_kind(target)
    progress(f"{target}: features and labels of the full history")
    features = build_features(projects, snapshots)
    truth = labelled_rows(features, projects, snapshots, target, settings)
    if len(truth) == 0:
        raise InsufficientData(f"{target}: no report has a known outcome in this history")
    report_dates = pd.to_datetime(snapshots["as_of"]).dropna().unique()
    if cutoffs:
        cuts = sorted(pd.Timestamp(c) for c in cutoffs)
    else:
        cuts = choose_cutoffs(truth, list(report_dates), folds or settings.backtest_folds)
    last = pd.to_datetime(truth.rows["as_of"]).max()
    bounds = [*cuts[1:], last]
    parts: list[pd.DataFrame] = []
    fold_info: list[Fold] = []
    scorers: dict[str, Any] = {}
    as_of = pd.to_datetime(truth.rows["as_of"])
    for k, (cut, until) in enumerate(zip(cuts, bounds, strict=True)):
        fold = Fold(cutoff=cut, until=until)
        fold_info.append(fold)
        in_window = ((as_of > cut) & (as_of <= until)).to_numpy()
        if not in_window.any():
            fold.skipped = "no labelled report in the window"
            continue
        progress(f"{target}: fold {k + 1}/{len(cuts)}, trained on history to {cut.date()}")
        try:
            model, baselines, known, (train, cal), sizer = _fit_fold(
                projects, snapshots, target, cut, settings
            )
        except InsufficientData as exc:
            fold.skipped = str(exc)
            continue
        test = truth.subset(in_window)
        columns = list(model.feature_names_in_)
        rows = test.rows
        frame = rows[["project_id", "as_of", "elapsed_share"]].copy()
        frame["fold"] = k
        frame["cutoff"] = cut
        frame["y"] = test.y.to_numpy()
        frame["ratio"] = test.ratio.to_numpy()
        frame["p_model"] = model.predict_proba(rows[columns])[:, 1]
        frame = pd.concat([frame, baselines.transform(rows)], axis=1)
        scorers = baselines.scorers()
        if sizer is not None:
            ranges = sizer.predict(rows[list(sizer.feature_names_in_)])
            for q in ("p10", "p50", "p90"):
                frame[f"size_{q}"] = ranges[q].to_numpy()
            from training.coverage import size_baselines

            for name, series in size_baselines(rows, target).items():
                frame[f"size_base_{name}"] = series.to_numpy()
        fold.train_projects = int(known.rows.loc[train, "project_id"].nunique())
        fold.train_rows = int(train.sum())
        fold.cal_rows = int(cal.sum())
        fold.test_projects = int(rows["project_id"].nunique())
        fold.test_rows = len(rows)
        parts.append(frame)
    if not parts:
        reasons = "; ".join(f"{f.cutoff.date()}: {f.skipped}" for f in fold_info)
        raise InsufficientData(f"{target}: no fold could be trained ({reasons})")
    scored = pd.concat(parts, ignore_index=True)
    if oracle is not None and f"p_{target}_oracle" in oracle.columns:
        scored = scored.merge(
            oracle[["project_id", "as_of", f"p_{target}_oracle"]],
            on=["project_id", "as_of"],
            how="left",
        ).rename(columns={f"p_{target}_oracle": "p_oracle"})
        if scored["p_oracle"].notna().any():
            scorers["oracle"] = "p_oracle"
    scored["stage"] = stage_of(scored["elapsed_share"]).to_numpy()
    evaluation = evaluate_target(scored, scorers)
    warning = None
    if kind == "outcome":
        finish = projects.drop_duplicates("project_id").set_index("project_id")["baseline_finish"]
        alarms = {"model": "p_model", "evm_rule": "evm_rule"}
        warning = early_warning(scored, finish, alarms, settings.alarm_threshold)
    sizes = None
    if "size_p50" in scored.columns:
        from training.coverage import size_metrics

        sized = scored.dropna(subset=["size_p50"])
        base = {
            c.removeprefix("size_base_"): sized[c].to_numpy()
            for c in sized.columns
            if c.startswith("size_base_")
        }
        sizes = size_metrics(
            sized["ratio"].to_numpy(),
            sized[["size_p10", "size_p50", "size_p90"]].rename(columns=lambda c: c[5:]),
            base,
            sized["elapsed_share"].to_numpy(),
        )
    return Backtest(
        target=target,
        kind=kind,
        cutoffs=list(cuts),
        folds=fold_info,
        scored=scored,
        evaluation=evaluation,
        scorers=scorers,
        early_warning=warning,
        sizes=sizes,
        definition={
            **target_definition(target, settings),
            "alarm_threshold": settings.alarm_threshold,
        },
    )
