"""Metrics, stages, the text table and MLflow keys."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

from training.evaluate import (
    STAGES,
    classification_metrics,
    ece_noise_floor,
    evaluate_target,
    expected_calibration_error,
    flatten_metrics,
    metrics_table,
    stage_of,
)
from training.plots import auc_by_stage_figure, reliability_figure

Y = np.array([0, 0, 1, 1, 0, 1, 0, 1, 1, 0])
P = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.9, 0.6, 0.55, 0.7, 0.3])


def test_metrics_equal_sklearn_on_known_inputs() -> None:
    """AUC, average precision, Brier and log loss match scikit-learn's; counts are right."""
    m = classification_metrics(Y, P)
    assert m["roc_auc"] == pytest.approx(roc_auc_score(Y, P))
    assert m["pr_auc"] == pytest.approx(average_precision_score(Y, P))
    assert m["brier"] == pytest.approx(brier_score_loss(Y, P))
    assert m["log_loss"] == pytest.approx(log_loss(Y, P))
    assert (m["n"], m["positives"], m["rate"]) == (10, 5, 0.5)


def test_ece_by_hand() -> None:
    """Two bins: [0.1,0.1] with y [0,1] and [0.9,0.9] with y [1,1] -> (2*0.4 + 2*0.1)/4."""
    assert expected_calibration_error([0, 1, 1, 1], [0.1, 0.1, 0.9, 0.9]) == pytest.approx(0.25)


def test_ece_is_near_zero_when_calibrated_and_large_when_shifted() -> None:
    """Outcomes drawn with probability p give ECE ~ 0; reporting p + 0.2 gives ECE > 0.1."""
    rng = np.random.default_rng(0)
    p = rng.uniform(0.0, 0.8, 20000)
    y = (rng.uniform(size=p.size) < p).astype(int)
    assert classification_metrics(y, p)["ece"] < 0.02
    assert classification_metrics(y, p + 0.2)["ece"] > 0.1


def test_single_class_gives_nan_auc_not_a_crash() -> None:
    """All negatives: AUCs are NaN, Brier and log loss still defined."""
    m = classification_metrics([0, 0, 0], [0.1, 0.2, 0.3])
    assert math.isnan(m["roc_auc"]) and math.isnan(m["pr_auc"])
    assert m["brier"] == pytest.approx((0.01 + 0.04 + 0.09) / 3)
    assert math.isfinite(m["log_loss"])
    assert m["positives"] == 0


def test_nan_scores_are_left_out_and_empty_input_is_nan() -> None:
    """Rows without a score are not counted; no rows gives NaN metrics and n = 0."""
    m = classification_metrics([0, 1, 1], [0.2, np.nan, 0.9])
    assert m["n"] == 2 and m["roc_auc"] == 1.0
    empty = classification_metrics([], [])
    assert empty["n"] == 0 and math.isnan(empty["brier"])


def test_non_probability_scores_have_only_ranking_metrics() -> None:
    """A slip share of 0.5 or -0.2 is not a probability: AUC yes, Brier / log loss / ECE NaN."""
    m = classification_metrics([0, 1, 1], [-0.2, 0.5, 1.5])
    assert m["roc_auc"] == 1.0
    assert math.isnan(m["brier"]) and math.isnan(m["log_loss"]) and math.isnan(m["ece"])


def test_log_loss_clips_certain_wrong_answers() -> None:
    """A 0/1 rule that is wrong gets a large but finite log loss."""
    m = classification_metrics([1, 0], [0.0, 0.0])
    assert math.isfinite(m["log_loss"]) and m["log_loss"] > 10


def test_stage_of_uses_0_3_and_0_7_cuts() -> None:
    """<0.3 early, 0.3..<0.7 mid, >=0.7 late, NaN unknown; the index is kept."""
    s = stage_of(pd.Series([0.0, 0.29, 0.3, 0.69, 0.7, 1.2, np.nan], index=list("abcdefg")))
    assert list(s.index) == list("abcdefg")
    assert list(s) == [STAGES[0], STAGES[0], STAGES[1], STAGES[1], STAGES[2], STAGES[2], None]


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    n = 300
    y = rng.integers(0, 2, n)
    return pd.DataFrame(
        {
            "y": y,
            "p_model": np.clip(0.3 + 0.4 * y + rng.normal(0, 0.2, n), 0, 1),
            "elapsed_share": np.r_[rng.uniform(0, 1.1, n - 10), [np.nan] * 10],
            "rule": (rng.uniform(size=n) < 0.3).astype(float),
            "rule_p": np.full(n, 0.5),
        }
    )


def test_evaluate_target_overall_and_by_stage() -> None:
    """Model first, then baselines; stages partition the rows with a known elapsed share."""
    frame = _frame()
    result = evaluate_target(frame, {"evm_rule": ("rule", "rule_p"), "rule01": "rule"})
    assert list(result["overall"]) == ["model", "evm_rule", "rule01"]
    assert list(result["by_stage"]) == list(STAGES)
    assert result["overall"]["model"]["n"] == 300
    assert sum(result["by_stage"][s]["model"]["n"] for s in STAGES) == 290
    assert result["overall"]["model"]["roc_auc"] > 0.8
    # A pair ranks with the rule and scores probabilities with the mapped column.
    assert result["overall"]["evm_rule"]["roc_auc"] == result["overall"]["rule01"]["roc_auc"]
    assert result["overall"]["evm_rule"]["brier"] == pytest.approx(0.25)
    assert result["overall"]["rule01"]["brier"] != pytest.approx(0.25)


def test_a_partial_baseline_is_set_beside_the_model_on_its_own_rows() -> None:
    """A baseline scoring only some rows ranks on those; the model's AUC on the same rows is
    reported beside it, and the model's own AUC still covers every row."""
    frame = _frame()
    frame["partial"] = frame["rule"].where(np.arange(len(frame)) % 3 == 0)
    result = evaluate_target(frame, {"partial": ("partial", "rule_p")})
    partial = result["overall"]["partial"]
    rows = frame["partial"].notna()
    assert partial["n"] == rows.sum() == 100
    expected = roc_auc_score(frame.loc[rows, "y"], frame.loc[rows, "p_model"])
    assert partial["model_roc_auc_same_rows"] == pytest.approx(expected)
    assert result["overall"]["model"]["roc_auc"] == pytest.approx(
        roc_auc_score(frame["y"], frame["p_model"])
    )
    assert "model_roc_auc_same_rows" not in result["overall"]["model"]


def test_evaluate_target_reports_missing_columns() -> None:
    """A scorer column that is not in the frame is named in the error."""
    with pytest.raises(KeyError, match="oracle"):
        evaluate_target(_frame(), {"oracle": "oracle"})


def test_metrics_table_has_a_row_per_stage_and_scorer() -> None:
    """Header, rule, then 4 groups x 2 scorers; each row shows n."""
    table = metrics_table(evaluate_target(_frame(), {"evm_rule": ("rule", "rule_p")}))
    lines = table.splitlines()
    assert lines[0].split() == ["Stage", "Scorer", "AUC", "PR-AUC", "Brier", "LogLoss", "ECE", "n"]
    assert len(lines) == 2 + 4 * 2
    assert lines[2].startswith("overall") and lines[2].rstrip().endswith("300")
    assert any(line.startswith("early (<30%)") for line in lines)
    assert len({len(line) for line in lines[2:]}) == 1  # fixed width


def test_flatten_metrics_keys_are_mlflow_safe() -> None:
    """Keys are prefix.stage.scorer.metric with short stage names and safe characters only."""
    flat = flatten_metrics(evaluate_target(_frame(), {"EVM rule": ("rule", "rule_p")}), "test")
    assert flat["test.overall.model.roc_auc"] > 0.8
    assert "test.early.model.brier" in flat
    assert "test.late.EVM rule.n" in flat
    assert all(
        set(k) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./ ")
        for k in flat
    )
    assert all(math.isfinite(v) for v in flat.values())


def test_flatten_metrics_leaves_out_undefined_values() -> None:
    """A single-class stage has no AUC key rather than a NaN value."""
    frame = pd.DataFrame(
        {"y": [0, 0, 1], "p_model": [0.1, 0.2, 0.9], "elapsed_share": [0.1, 0.1, 0.9]}
    )
    flat = flatten_metrics(evaluate_target(frame, {}), "val")
    assert "val.early.model.roc_auc" not in flat
    assert flat["val.early.model.n"] == 2


def test_reliability_figure_renders_to_png(tmp_path: Path) -> None:
    """A reliability diagram for two scorers, one with NaN rows, saves as a PNG."""
    frame = _frame()
    rule_p = frame["rule_p"].where(frame.index % 7 != 0)
    fig = reliability_figure(frame["y"], {"model": frame["p_model"], "evm_rule": rule_p})
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2
    out = tmp_path / "reliability.png"
    fig.savefig(out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_auc_by_stage_figure_renders_with_undefined_values(tmp_path: Path) -> None:
    """Grouped bars for overall and three stages render even when a stage has one class."""
    frame = _frame()
    frame.loc[frame["elapsed_share"] < 0.3, "y"] = 0
    result = evaluate_target(frame, {"evm_rule": ("rule", "rule_p")})
    fig = auc_by_stage_figure(result)
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels == ["overall", *STAGES]
    out = tmp_path / "auc.png"
    fig.savefig(out)
    assert out.stat().st_size > 1000


def test_ece_noise_floor_matches_the_binomial_spread() -> None:
    """With one probability everywhere ECE is |observed rate - p|, whose mean is known:
    sqrt(p (1 - p) / n) * sqrt(2 / pi) for large n."""
    n, p = 4000, 0.3
    expected = math.sqrt(p * (1 - p) / n) * math.sqrt(2 / math.pi)
    floor = ece_noise_floor(np.full(n, p), draws=400, seed=1)
    assert floor == pytest.approx(expected, rel=0.15)


def test_ece_noise_floor_shrinks_with_rows_and_grows_when_reports_share_an_outcome() -> None:
    """More rows, less noise; ten like reports per project sharing one outcome count as one."""
    rng = np.random.default_rng(0)
    per_project = rng.uniform(0.05, 0.95, 500)
    p = np.repeat(per_project, 10)
    few = ece_noise_floor(per_project)
    many = ece_noise_floor(p)
    grouped = ece_noise_floor(p, np.repeat(np.arange(500), 10))
    assert many < few / 2
    assert grouped == pytest.approx(few, rel=0.15)


def test_ece_noise_floor_is_repeatable_and_skips_missing_probabilities() -> None:
    """A fixed seed gives the same floor; NaN probabilities are left out; no rows -> NaN."""
    p = np.array([0.2, np.nan, 0.7, 0.4, 0.9] * 40)
    assert ece_noise_floor(p, seed=3) == ece_noise_floor(p, seed=3)
    assert ece_noise_floor(p, seed=3) == ece_noise_floor(p[~np.isnan(p)], seed=3)
    assert math.isnan(ece_noise_floor(np.array([np.nan])))
