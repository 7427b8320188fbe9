"""Exact TreeSHAP of small trees from a table of every decision pattern (batch explanations).

LightGBM's ``pred_contrib`` runs path-dependent TreeSHAP row by row. For a small tree the
result depends only on which way the row goes at each of the tree's ``m`` splits, so there are
only ``2**m`` possible answers: ``PatternShap`` computes them once per model and then explains a
batch with array operations (the split decisions of every row, each tree's pattern number, a
look-up, a sum per feature). The values equal ``pred_contrib``'s up to floating-point rounding.

Per leaf, path-dependent TreeSHAP's value function is a product over the distinct features
``j`` on the leaf's path: ``v(S) = value * prod_j (s_j if j in S else r_j)``, where ``s_j`` is 1
when the row meets every condition on ``j`` along the path (else 0) and ``r_j`` the product of
the path's cover ratios (child count / parent count) at those splits. The Shapley value of such
a product game for a feature ``i`` on the path, with ``A`` the other met features and ``C`` the
other unmet ones, ``d`` features in all, is::

    phi_i = value * (s_i - r_i) * prod_{j in C} r_j * sum_k w(k, d) * e_{|A| - k}(r_A)

with ``w(k, d) = k! (d - k - 1)! / d!`` and ``e`` the elementary symmetric polynomials; a tree's
contributions are the sums over its leaves, and the base value is each tree's cover-weighted
mean leaf value, summed.

Split decisions follow LightGBM's own rules: a value within 1e-35 of zero is read as 0; a
numerical split sends a missing value (NaN when
its missing type is NaN, zero when Zero) to its default side, any other NaN is read as 0, and
otherwise ``x <= threshold`` goes left; a categorical split sends the listed categories left
and NaN, negative or other values right. Models whose trees are larger than the limit, or that
are not plain binary or regression GBDTs, get no table (``from_booster`` returns None) and are
explained by ``pred_contrib``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_SPLITS = 6  # at most 8: a pattern is packed into one byte
"""Largest number of splits in a tree (``2**MAX_SPLITS`` patterns) a table is built for."""

_ZERO = float(np.float32(1e-35))  # LightGBM's kZeroThreshold: it reads |x| <= this as 0


@dataclass(frozen=True)
class _Split:
    feature: int
    threshold: float
    categories: frozenset[int] | None  # categorical split: the categories that go left
    missing: str  # "None", "Zero" or "NaN"
    default_left: bool


@dataclass(frozen=True)
class _Leaf:
    value: float
    path: tuple[tuple[int, bool, float], ...]  # (split number, goes left, cover ratio)


def _walk(tree: dict[str, Any], splits: list[_Split], leaves: list[_Leaf]) -> None:
    """The splits (in pre-order) and leaves of one dumped tree, each leaf with its path."""

    def visit(node: dict[str, Any], path: tuple[tuple[int, bool, float], ...]) -> None:
        if "leaf_value" in node:
            leaves.append(_Leaf(float(node["leaf_value"]), path))
            return
        k = len(splits)
        categorical = node["decision_type"] == "=="
        splits.append(
            _Split(
                feature=int(node["split_feature"]),
                threshold=0.0 if categorical else float(node["threshold"]),
                categories=(
                    frozenset(int(c) for c in str(node["threshold"]).split("||"))
                    if categorical
                    else None
                ),
                missing=str(node.get("missing_type", "None")),
                default_left=bool(node.get("default_left", False)),
            )
        )
        total = float(node["internal_count"])
        for child, left in ((node["left_child"], True), (node["right_child"], False)):
            size = float(child["leaf_count"] if "leaf_value" in child else child["internal_count"])
            visit(child, (*path, (k, left, size / total if total > 0 else 0.0)))

    visit(tree, ())


def _weights(d: int) -> np.ndarray:
    """Shapley weights ``w(k, d) = k! (d - k - 1)! / d!`` for k = 0 .. d - 1."""
    return np.array(
        [math.factorial(k) * math.factorial(d - k - 1) / math.factorial(d) for k in range(d)]
    )


def _elementary(values: list[float]) -> list[float]:
    """Elementary symmetric polynomials e_0 .. e_n of ``values``."""
    e = [1.0] + [0.0] * len(values)
    for v in values:
        for m in range(len(e) - 1, 0, -1):
            e[m] += v * e[m - 1]
    return e


def _leaf_shap(leaf: _Leaf, split_features: list[int], left: np.ndarray) -> dict[int, float]:
    """One leaf's contribution to each feature on its path, for one pattern (``left[k]``:
    the row goes left at split ``k``, whose feature is ``split_features[k]``)."""
    met: dict[int, bool] = {}
    ratio: dict[int, float] = {}
    for k, goes_left, r in leaf.path:
        feature = split_features[k]
        met[feature] = met.get(feature, True) and bool(left[k]) == goes_left
        ratio[feature] = ratio.get(feature, 1.0) * r
    features = list(met)
    d = len(features)
    w = _weights(d)
    out: dict[int, float] = {}
    for i in features:
        others = [j for j in features if j != i]
        met_r = [ratio[j] for j in others if met[j]]
        unmet = math.prod(ratio[j] for j in others if not met[j])
        e = _elementary(met_r)
        a = len(met_r)
        total = sum(w[k] * e[a - k] for k in range(a + 1))
        out[i] = leaf.value * ((1.0 if met[i] else 0.0) - ratio[i]) * unmet * total
    return out


def _tree_table(splits: list[_Split], leaves: list[_Leaf]) -> tuple[list[int], np.ndarray]:
    """The tree's features and its contributions for every pattern, shape (2**m, features)."""
    split_features = [s.feature for s in splits]
    features = sorted({s.feature for s in splits})
    slot = {f: i for i, f in enumerate(features)}
    m = len(splits)
    table = np.zeros((1 << m, len(features)), dtype=np.float64)
    bits = (np.arange(1 << m)[:, None] >> np.arange(m)[None, :]) & 1
    for p in range(1 << m):
        for leaf in leaves:
            for feature, phi in _leaf_shap(leaf, split_features, bits[p].astype(bool)).items():
                table[p, slot[feature]] += phi
    return features, table


class PatternShap:
    """TreeSHAP contributions of a model of small trees, from per-tree pattern tables."""

    def __init__(
        self,
        n_features: int,
        splits: list[list[_Split]],
        tables: list[tuple[list[int], np.ndarray]],
        base: float,
    ) -> None:
        self.n_features = n_features
        self.base = base
        m = max((len(s) for s in splits), default=0)
        d = max((len(f) for f, _ in tables), default=0)
        t = len(splits)
        # every tree padded to m splits (a padded split's bit is always 0: threshold -inf,
        # NaN to the right) and d features (a padded feature's contribution is 0, on feature 0)
        feature = np.zeros((t, m), dtype=np.intp)
        threshold = np.full((t, m), -np.inf)
        nan_left = np.zeros((t, m), dtype=bool)
        zero: list[tuple[int, bool]] = []
        categorical: list[tuple[int, frozenset[int]]] = []
        for ti, tree in enumerate(splits):
            for k, s in enumerate(tree):
                column = ti * m + k
                feature[ti, k] = s.feature
                if s.categories is not None:
                    categorical.append((column, s.categories))
                    continue
                threshold[ti, k] = s.threshold
                # a NaN goes to the default side when missing values are NaN (or read as
                # zero, and zero is missing); with no missing type it is read as 0
                nan_left[ti, k] = s.default_left if s.missing != "None" else s.threshold >= 0.0
                if s.missing == "Zero":
                    zero.append((column, s.default_left))
        self._feature = feature.reshape(-1)
        self._threshold = threshold.reshape(-1)
        self._nan_left = nan_left.reshape(-1)
        self._zero_columns = np.array([c for c, _ in zero], dtype=np.intp)
        self._zero_left = np.array([d for _, d in zero], dtype=bool)
        # categorical splits: a look-up of "goes left" per split and category code
        self._cat_columns = np.array([c for c, _ in categorical], dtype=np.intp)
        width = max((max(cats) + 1 for _, cats in categorical), default=0)
        lookup = np.zeros((len(categorical), width + 1), dtype=bool)  # last: any other value
        for i, (_, cats) in enumerate(categorical):
            lookup[i, sorted(cats)] = True
        self._cat_lookup = lookup
        self._shape = (t, m)
        values = np.zeros((t, 1 << m, d))
        slots = np.zeros((t, d), dtype=np.intp)
        for ti, (features, table) in enumerate(tables):
            # a tree with fewer splits has fewer patterns (its padded bits are 0)
            values[ti, : len(table), : len(features)] = table
            slots[ti, : len(features)] = features
        self._values = values.reshape(t * (1 << m), d)
        self._offsets = np.arange(t, dtype=np.intp) * (1 << m)
        # contributions are summed per feature: the (tree, slot) cells sorted by feature
        order = np.argsort(slots.reshape(-1), kind="stable")
        self._order = order
        self._present, self._starts = np.unique(slots.reshape(-1)[order], return_index=True)

    @classmethod
    def from_booster(cls, booster: Any, max_splits: int = MAX_SPLITS) -> PatternShap | None:
        """The table of a fitted ``lightgbm.Booster``, or None when a tree has more than
        ``max_splits`` splits, the model is not a single-output GBDT without linear trees, or
        the table does not reproduce ``pred_contrib`` on probe rows that take both sides of
        every split (``probe_matrix``), missing values included."""
        table = cls._build(booster, max_splits)
        if table is None:
            return None
        probe = table.probe_matrix()
        native = np.asarray(booster.predict(probe, pred_contrib=True, num_threads=1))
        if native.shape != (len(probe), table.n_features + 1):
            return None
        ours = table.contributions(probe)
        scale = max(1.0, float(np.abs(native).max()))
        return table if float(np.abs(ours - native).max()) <= 1e-9 * scale else None

    @classmethod
    def _build(cls, booster: Any, max_splits: int) -> PatternShap | None:
        model = booster.dump_model()
        if int(model.get("num_tree_per_iteration", 1)) != 1 or model.get("average_output"):
            return None
        splits: list[list[_Split]] = []
        tables: list[tuple[list[int], np.ndarray]] = []
        base = 0.0
        for info in model["tree_info"]:
            tree_splits: list[_Split] = []
            leaves: list[_Leaf] = []
            structure = info["tree_structure"]
            if any(k in structure for k in ("leaf_coeff", "leaf_const")):
                return None
            _walk(structure, tree_splits, leaves)
            if len(tree_splits) > max_splits:
                return None
            base += sum(leaf.value * math.prod(r for _, _, r in leaf.path) for leaf in leaves)
            if not tree_splits:
                continue
            splits.append(tree_splits)
            tables.append(_tree_table(tree_splits, leaves))
        return cls(int(model["max_feature_idx"]) + 1, splits, tables, base)

    def probe_matrix(self, rows: int = 64, seed: int = 0) -> np.ndarray:
        """Rows in which each feature takes, at least once each, values on both sides of each
        of its split thresholds, its split categories and others, zero and missing (NaN);
        the columns shuffled independently (at least ``rows`` rows)."""
        rng = np.random.default_rng(seed)
        candidates: dict[int, set[float]] = {}
        used = self._threshold > -np.inf
        for f, thr in zip(
            self._feature[used].tolist(), self._threshold[used].tolist(), strict=True
        ):
            candidates.setdefault(f, set()).update((thr, float(np.nextafter(thr, np.inf))))
        for i, column in enumerate(self._cat_columns.tolist()):
            codes = np.flatnonzero(self._cat_lookup[i, :-1]).astype(np.float64)
            candidates.setdefault(int(self._feature[column]), set()).update(
                (*codes.tolist(), float(self._cat_lookup.shape[1]), -1.0, 2.5)
            )
        columns = [
            np.array([*sorted(candidates.get(f, set())), 0.0, 1e-40, -1.0, np.nan])
            for f in range(self.n_features)
        ]
        n = max(rows, *(len(c) for c in columns)) if columns else rows
        out = np.zeros((n, self.n_features))
        for f, values in enumerate(columns):
            out[:, f] = rng.permutation(np.resize(values, n))
        return out

    def contributions(self, matrix: np.ndarray) -> np.ndarray:
        """TreeSHAP of every row of an (n, f) float matrix: (n, f + 1), the base value last."""
        x = np.asarray(matrix, dtype=np.float64)
        n = len(x)
        out = np.zeros((n, self.n_features + 1))
        out[:, -1] = self.base
        if n == 0 or len(self._offsets) == 0:
            return out
        tiny = (np.abs(x) <= _ZERO) & (x != 0.0)
        if tiny.any():  # LightGBM reads these as 0 before any split
            x = np.where(tiny, 0.0, x)
        g = x[:, self._feature]  # (n, trees * m): each split's input value
        left = g <= self._threshold  # False for NaN
        nan = np.isnan(g)
        if nan.any():
            left |= nan & self._nan_left
        if len(self._zero_columns):
            z = g[:, self._zero_columns]
            missing = np.isnan(z) | (np.abs(z) <= _ZERO)
            left[:, self._zero_columns] = np.where(
                missing, self._zero_left, left[:, self._zero_columns]
            )
        if len(self._cat_columns):
            v = g[:, self._cat_columns]
            whole = np.trunc(np.where(np.isnan(v), -1.0, v))
            other = self._cat_lookup.shape[1] - 1
            code = np.where((whole >= 0) & (whole < other), whole, other).astype(np.intp)
            left[:, self._cat_columns] = self._cat_lookup[np.arange(len(self._cat_columns)), code]
        t, m = self._shape
        bits = np.packbits(left.reshape(n, t, m), axis=2, bitorder="little")  # m <= 8
        pattern = bits.reshape(n, t).astype(np.intp) + self._offsets
        cells = self._values[pattern].reshape(n, -1)[:, self._order]  # (n, t * d) by feature
        out[:, self._present] = np.add.reduceat(cells, self._starts, axis=1)
        return out
