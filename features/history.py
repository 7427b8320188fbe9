"""Point-in-time operations on a project history sorted by (project, as_of).

Every function looks only backwards within a project: the value at a row depends on that
row and earlier rows of the same project, never on later rows or other projects. The
operations are vectorised with numpy over contiguous groups (no per-project Python loops),
and rolling sums are built from a few lagged arrays so they stay exact and local.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

DAY = np.timedelta64(1, "D")


@dataclass(frozen=True)
class Groups:
    """Contiguous groups of rows: ``code`` per row (0..n_groups-1, non-decreasing)."""

    code: IntArray
    first: IntArray
    pos: IntArray
    n_groups: int

    @classmethod
    def from_codes(cls, code: npt.ArrayLike) -> Groups:
        """Groups from non-decreasing integer codes (one code per contiguous project block)."""
        c = np.asarray(code, dtype=np.int64)
        n = len(c)
        if n == 0:
            empty = np.zeros(0, dtype=np.int64)
            return cls(empty, empty, empty, 0)
        starts = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])
        sizes = np.diff(np.r_[starts, n])
        first = np.repeat(starts, sizes).astype(np.int64)
        pos = np.arange(n, dtype=np.int64) - first
        return cls(c, first, pos, int(c[-1]) + 1)

    @classmethod
    def of(cls, frame: pd.DataFrame) -> Groups:
        """Groups of a history frame with an integer ``code`` column (an ``ArrayFrame``
        keeps them while its ``code`` column is the same array)."""
        if isinstance(frame, ArrayFrame):
            code = dict.__getitem__(frame, "code")
            kept = frame.groups
            if kept is None or kept[0] is not code:
                kept = (code, cls.from_codes(code))
                frame.groups = kept
            return kept[1]
        return cls.from_codes(frame["code"].to_numpy())

    def shift(self, x: npt.ArrayLike, lag: int = 1) -> FloatArray:
        """Value ``lag`` rows earlier in the same group (NaN before the group starts)."""
        v = np.asarray(x, dtype=np.float64)
        if lag == 0:
            return v.copy()
        out = np.empty(len(v))
        out[:lag] = np.nan
        if lag < len(v):
            out[lag:] = v[:-lag]
        if self.n_groups > 1:  # one group: its first ``lag`` rows are the NaN ones already
            out[self.pos < lag] = np.nan
        return out

    def ffill(self, x: npt.ArrayLike) -> FloatArray:
        """Latest non-NaN value at or before each row within its group (NaN if none yet)."""
        v = np.asarray(x, dtype=np.float64)
        n = len(v)
        missing = np.isnan(v)
        if not n or missing.all():  # nothing reported (e.g. no schedule files): all NaN
            return np.full(n, np.nan)
        if not missing.any():
            return v.copy()
        idx = np.arange(n)
        idx[missing] = -1
        np.maximum.accumulate(idx, out=idx)
        out = v[np.maximum(idx, 0)]
        out[idx < self.first] = np.nan
        return out

    def cumsum(self, x: npt.ArrayLike) -> FloatArray:
        """Running sum within each group (NaN treated as 0)."""
        v = np.nan_to_num(np.asarray(x, dtype=np.float64), nan=0.0)
        cs = np.cumsum(v)
        before = cs[self.first] - v[self.first] if len(v) else cs
        return cs - before

    def cummax(self, x: npt.ArrayLike) -> FloatArray:
        """Running maximum within each group ignoring NaN (NaN where the row itself is NaN)."""
        if self.n_groups <= 1:  # one project (the fast path): no grouping needed
            v = np.asarray(x, dtype=np.float64)
            run = np.fmax.accumulate(v) if len(v) else v
            return np.where(np.isnan(v), np.nan, run)
        s = pd.Series(np.asarray(x, dtype=np.float64))
        out = s.groupby(self.code, sort=False).cummax().to_numpy(dtype=np.float64)
        return np.asarray(out, dtype=np.float64)

    def window(self, x: npt.ArrayLike, k: int) -> FloatArray:
        """A (k, n) stack: row ``l`` holds the value ``l`` rows earlier in the group. ``x`` may
        also be (m, n), m columns at once: then (k, m, n)."""
        v = np.asarray(x, dtype=np.float64)
        n = v.shape[-1]
        out = np.full((k, *v.shape), np.nan)
        for lag in range(k):
            if lag < n:
                out[lag, ..., lag:] = v[..., : n - lag]
        if self.n_groups > 1:  # a group's first ``lag`` rows have nothing ``lag`` rows back
            for lag in range(1, k):
                out[lag, ..., self.pos < lag] = np.nan
        return out

    def change(self, x: npt.ArrayLike) -> FloatArray:
        """Difference from the previous row of the group."""
        v = np.asarray(x, dtype=np.float64)
        return v - self.shift(v, 1)

    def slope(self, x: npt.ArrayLike, k: int, min_periods: int = 2) -> FloatArray:
        """OLS slope of the last ``k`` values against the row index (per row), NaN-aware."""
        return slope_of(self.window(x, k), min_periods)

    def std(self, x: npt.ArrayLike, k: int, min_periods: int = 3) -> FloatArray:
        """Sample standard deviation of the last ``k`` values, NaN-aware."""
        return std_of(self.window(x, k), min_periods)


def slope_of(w: FloatArray, min_periods: int = 2) -> FloatArray:
    """``Groups.slope`` of a ``Groups.window`` stack (its first axis: the lags)."""
    k = w.shape[0]
    valid = ~np.isnan(w)
    xs = -np.arange(k, dtype=np.float64).reshape((k,) + (1,) * (w.ndim - 1)) * valid
    ys = np.where(valid, w, 0.0)
    n = valid.sum(axis=0).astype(np.float64)
    sx, sy = xs.sum(axis=0), ys.sum(axis=0)
    sxy, sxx = (xs * ys).sum(axis=0), (xs * xs).sum(axis=0)
    den = n * sxx - sx * sx
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (n * sxy - sx * sy) / den
    return np.where((n >= min_periods) & (den > 0), out, np.nan)


def std_of(w: FloatArray, min_periods: int = 3) -> FloatArray:
    """``Groups.std`` of a ``Groups.window`` stack (its first axis: the lags)."""
    valid = ~np.isnan(w)
    n = valid.sum(axis=0).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(valid, w, 0.0).sum(axis=0) / n
        ss = np.where(valid, (w - mean) ** 2, 0.0).sum(axis=0)
        out = np.sqrt(ss / (n - 1))
    return np.where(n >= min_periods, out, np.nan)


class Column(np.ndarray):
    """A numpy array answering ``to_numpy`` like a pandas Series (for ``ArrayFrame``)."""

    def to_numpy(self, dtype: Any = None, **_: Any) -> np.ndarray:
        return np.asarray(self, dtype=dtype)


class ArrayFrame(dict[str, np.ndarray]):
    """Columns as numpy arrays, read like a frame by the signal functions (``h["spi"]``).

    The fast path for one project (``features.fast``) computes every signal family on one of
    these instead of a DataFrame: the same code, without pandas' per-call overhead.
    """

    index = None
    groups: tuple[np.ndarray, Groups] | None = None
    """``Groups.of`` of this frame and the ``code`` array it was made from."""

    def __len__(self) -> int:
        """The number of rows (as ``len`` of a frame), not of columns."""
        for values in self.values():
            return len(values)
        return 0

    def __getitem__(self, key: str) -> Column:
        values = super().__getitem__(key)
        return values if type(values) is Column else values.view(Column)

    @property
    def columns(self) -> list[str]:
        return list(self.keys())


def frame_of(columns: dict[str, Any], like: Any) -> Any:
    """A signal family's output: a DataFrame on ``like``'s index, or plain arrays when
    ``like`` is an ``ArrayFrame``."""
    if isinstance(like, ArrayFrame):
        return {k: np.asarray(v) for k, v in columns.items()}
    return pd.DataFrame(columns, index=like.index)


def safe_div(a: npt.ArrayLike, b: npt.ArrayLike) -> FloatArray:
    """``a / b`` with NaN where ``b`` is zero or either side is missing or the result infinite."""
    num = np.asarray(a, dtype=np.float64)
    den = np.asarray(b, dtype=np.float64)
    shape = num.shape if num.shape == den.shape else np.broadcast_shapes(num.shape, den.shape)
    out = np.full(shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(num, den, out=out, where=den != 0)
    out[~np.isfinite(out)] = np.nan
    return out


def days(x: pd.Series | npt.ArrayLike) -> FloatArray:
    """Datetimes as float days since the epoch (NaN for NaT)."""
    v = np.asarray(x, dtype="datetime64[ns]")
    out = v.astype(np.int64).astype(np.float64) / 86_400e9
    return np.where(np.isnat(v), np.nan, out)
