"""The registered model as an MLflow pyfunc that reads raw project history (issue 6).

``mlflow models serve -m models:/pmo-risk-schedule@champion`` serves it as it is: the input is
one record per status report holding the project's fields beside the report's (a project
without reports: one record with no ``as_of``); features are computed inside, exactly as the
API does (``validate_tables`` -> ``build_features`` -> each project's latest report). The
output is one row per project: ``project_id``, ``as_of`` (ISO date of the report scored),
``probability`` (calibrated, NaN when the project cannot be scored), ``band``, ``reason`` and,
for outcome targets trained with a size model, ``overrun_p10`` / ``overrun_p50`` /
``overrun_p90``: the P10 / P50 / P90 of the overrun ratio (slip as a share of the planned
duration, or cost growth as a share of the baseline budget; NaN without a size model).

In a record, ``actual_cost`` is the report's cumulative actual cost (the project's outcome
columns are never read); any column that is neither a project nor a report field is a project
attribute. The wrapped ``RiskClassifier`` is the artifact ``classifier.pkl`` and the optional
``OverrunRange`` the artifact ``ranges.pkl``; the API loads them from there
(``ModelRegistry.load``) and scores without the pyfunc layer.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import pandas as pd

from risk_model.schemas import PROJECT_COLUMNS, PROJECT_FIELDS, SNAPSHOT_COLUMNS, SNAPSHOT_FIELDS

CLASSIFIER = "classifier"
CONFIG = "config"
RANGES = "ranges"
OUTCOME_FIELDS: tuple[str, ...] = ("actual_finish", "actual_cost", "status")
PROJECT_INPUTS: tuple[str, ...] = tuple(f for f in PROJECT_FIELDS if f not in OUTCOME_FIELDS)
RECORD_FIELDS: tuple[str, ...] = (
    *PROJECT_INPUTS,
    *(f for f in SNAPSHOT_FIELDS if f != "project_id"),
)
RANGE_OUTPUTS: tuple[str, ...] = ("overrun_p10", "overrun_p50", "overrun_p90")
OUTPUT_COLUMNS: tuple[str, ...] = (
    "project_id",
    "as_of",
    "probability",
    "band",
    "reason",
    *RANGE_OUTPUTS,
)


def history_records(projects: pd.DataFrame, snapshots: pd.DataFrame) -> pd.DataFrame:
    """Canonical projects + snapshots frames as the pyfunc's input records (dates as ISO text).

    One record per report with the project's fields beside it; one record without ``as_of``
    for a project without reports. Extra project columns (attributes) come along.
    """
    extras = [c for c in projects.columns if c not in PROJECT_FIELDS]
    proj = projects[[*PROJECT_INPUTS, *extras]]
    snap = snapshots[list(SNAPSHOT_FIELDS)]
    merged = proj.merge(snap, on="project_id", how="left", sort=False)
    merged = merged.sort_values(["project_id", "as_of"], kind="stable").reset_index(drop=True)
    out = merged[[*RECORD_FIELDS, *extras]].copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d").astype(object)
    return out.astype(object).where(out.notna(), None)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def split_records(records: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Input records as the raw string frames ``validate_tables`` reads (projects, snapshots)."""
    if "project_id" not in records.columns:
        raise ValueError("the input needs a project_id column")
    raw = records.map(_text) if len(records) else records.astype(object)
    extras = [c for c in raw.columns if c not in RECORD_FIELDS]
    pcols = [c for c in (*PROJECT_INPUTS, *extras) if c in raw.columns]
    projects = raw[pcols].drop_duplicates("project_id", keep="last").reset_index(drop=True)
    projects = projects.reindex(columns=[*PROJECT_INPUTS, *extras])
    snaps = raw.loc[raw["as_of"].notna()] if "as_of" in raw.columns else raw.iloc[:0]
    snapshots = snaps.reindex(columns=list(SNAPSHOT_FIELDS)).reset_index(drop=True)
    return projects.astype(object), snapshots.astype(object)


def score_records(
    records: pd.DataFrame,
    target: str,
    classifier: Any,
    band_cuts: Any,
    band_names: Any,
    ranges: Any | None = None,
) -> pd.DataFrame:
    """Each project of the records at its latest report: probability, band, reason, and the
    overrun range when ``ranges`` (an ``OverrunRange``) is given."""
    from features.pipeline import build_features, insufficient_reason
    from risk_model.scoring import latest_rows
    from risk_model.validation import validate_tables

    projects_raw, snapshots_raw = split_records(records)
    projects, snapshots = validate_tables(
        projects_raw, snapshots_raw, projects_name="records", snapshots_name="records"
    )
    assert projects is not None and snapshots is not None
    rows = latest_rows(build_features(projects, snapshots)).reset_index(drop=True)
    reasons = insufficient_reason(rows, target)
    ok = reasons.isna().to_numpy()
    prob = pd.Series(float("nan"), index=rows.index, dtype="float64")
    sizes = pd.DataFrame(float("nan"), index=rows.index, columns=list(RANGE_OUTPUTS))
    if ok.any():
        X = rows.loc[ok].reindex(columns=classifier.feature_names())
        prob.loc[ok] = classifier.predict_proba(X)[:, 1]
        if ranges is not None:
            pred = ranges.predict(rows.loc[ok].reindex(columns=ranges.feature_names()))
            sizes.loc[ok] = pred.to_numpy()
    bands = [_band(p, band_cuts, band_names) for p in prob.tolist()]
    return pd.DataFrame(
        {
            "project_id": rows["project_id"].astype(str).to_numpy(dtype=object),
            "as_of": [
                None if pd.isna(d) else pd.Timestamp(d).date().isoformat() for d in rows["as_of"]
            ],
            "probability": prob.to_numpy(),
            "band": bands,
            "reason": reasons.to_numpy(dtype=object),
            **{c: sizes[c].to_numpy() for c in RANGE_OUTPUTS},
        },
        columns=list(OUTPUT_COLUMNS),
    )


def _band(p: float, cuts: Any, names: Any) -> str | None:
    if p != p:  # NaN
        return None
    for cut, name in zip(cuts, names, strict=False):
        if p < cut:
            return str(name)
    return str(names[-1])


class RiskHistoryModel(mlflow.pyfunc.PythonModel):  # type: ignore[misc,name-defined]
    """Raw project history in, calibrated overrun probability per project out."""

    def load_context(self, context: Any) -> None:
        with open(context.artifacts[CLASSIFIER], "rb") as fh:
            self.classifier = pickle.load(fh)
        config = json.loads(Path(context.artifacts[CONFIG]).read_text())
        self.target = str(config["target"])
        self.band_cuts = tuple(config["band_cuts"])
        self.band_names = tuple(config["band_names"])
        self.ranges = None
        if RANGES in context.artifacts:
            with open(context.artifacts[RANGES], "rb") as fh:
                self.ranges = pickle.load(fh)

    # No type hints here: MLflow would read them as an input schema of its own.
    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        return score_records(
            frame, self.target, self.classifier, self.band_cuts, self.band_names, self.ranges
        )


def signature(attributes: Sequence[str] = ()) -> Any:
    """Input: every record field, optional (dates and texts as strings, numbers as doubles),
    and the numeric project ``attributes`` the model reads (as doubles); output: project_id,
    as_of, probability, band, reason. MLflow drops input columns the signature lacks."""
    from mlflow.models import ModelSignature
    from mlflow.types.schema import ColSpec, Schema

    kinds = {c.name: c.kind for c in (*PROJECT_COLUMNS, *SNAPSHOT_COLUMNS)}

    def col(name: str) -> ColSpec:
        kind = kinds[name]
        dtype = "double" if kind in ("money", "float", "count", "percent") else "string"
        return ColSpec(dtype, name, required=name == "project_id")

    extra = [ColSpec("double", a, required=False) for a in attributes if a not in kinds]
    inputs = Schema([*[col(n) for n in RECORD_FIELDS], *extra])
    outputs = Schema(
        [
            ColSpec("string", "project_id"),
            ColSpec("string", "as_of", required=False),
            ColSpec("double", "probability", required=False),
            ColSpec("string", "band", required=False),
            ColSpec("string", "reason", required=False),
            *[ColSpec("double", c, required=False) for c in RANGE_OUTPUTS],
        ]
    )
    return ModelSignature(inputs=inputs, outputs=outputs)


def write_artifacts(
    folder: Path, classifier: Any, config: Mapping[str, Any], ranges: Any | None = None
) -> dict[str, str]:
    """Pickle the classifier (and the range model, when given) and write the config into
    ``folder``; the artifacts mapping."""
    folder.mkdir(parents=True, exist_ok=True)
    model_path, config_path = folder / "classifier.pkl", folder / "config.json"
    with model_path.open("wb") as fh:
        pickle.dump(classifier, fh, protocol=pickle.HIGHEST_PROTOCOL)
    config_path.write_text(json.dumps(dict(config), sort_keys=True))
    artifacts = {CLASSIFIER: str(model_path), CONFIG: str(config_path)}
    if ranges is not None:
        ranges_path = folder / "ranges.pkl"
        with ranges_path.open("wb") as fh:
            pickle.dump(ranges, fh, protocol=pickle.HIGHEST_PROTOCOL)
        artifacts[RANGES] = str(ranges_path)
    return artifacts


def code_paths() -> list[str]:
    """Our packages the pyfunc imports, shipped with the model so it serves anywhere."""
    import features
    import model_registry
    import risk_model

    return [str(Path(m.__file__).parent) for m in (risk_model, features, model_registry)]  # type: ignore[arg-type]
