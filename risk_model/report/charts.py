"""Static charts of the report as inline SVG (matplotlib, no pyplot state): they print in PDF."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from risk_model.scoring import ProjectScore

_SIZE = (6.4, 2.6)


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    text = buf.getvalue()
    return text[text.index("<svg") :]


def _figure() -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=_SIZE, dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    ax.grid(alpha=0.3)
    return fig, ax


def indices_svg(features: pd.DataFrame) -> str:
    """SPI, CPI and SPI(t) at each report."""
    fig, ax = _figure()
    x = features["as_of"]
    for col, label, style in (("spi", "SPI", "-"), ("cpi", "CPI", "-"), ("spi_t", "SPI(t)", ":")):
        if col in features and features[col].notna().any():
            ax.plot(x, features[col], style, marker="o", ms=3, label=label)
    ax.axhline(1.0, color="grey", lw=0.8)
    ax.set_title("Performance indices (1 = on plan)", fontsize=9)
    ax.legend(fontsize=7, loc="best")
    ax.tick_params(labelsize=7)
    return _svg(fig)


def risk_svg(history: Sequence[ProjectScore]) -> str:
    """The model's probability per target at each report."""
    fig, ax = _figure()
    targets: list[str] = []
    for ps in history:
        targets += [t for t in ps.scores if t not in targets]
    for t in targets:
        xs = [ps.as_of for ps in history if ps.scores[t].probability is not None]
        ys = [
            100 * float(ps.scores[t].probability or 0)
            for ps in history
            if ps.scores[t].probability is not None
        ]
        ax.plot(xs, ys, marker="o", ms=3, label=t)
    ax.set_ylim(0, 100)
    ax.set_title("Overrun probability at each report (%)", fontsize=9)
    ax.legend(fontsize=7)
    ax.tick_params(labelsize=7)
    return _svg(fig)


def waterfall_svg(target: str, base: float | None, contributions: Mapping[str, float]) -> str:
    """The ten largest contributions to the log-odds, from the base value to this project."""
    items = sorted(contributions.items(), key=lambda kv: -abs(kv[1]))
    top, rest = items[:10], sum(v for _, v in items[10:])
    labels = ["base rate", *[k for k, _ in top], "all other features", "this project"]
    deltas = [float(base or 0.0), *[v for _, v in top], rest]
    fig, ax = _figure()
    fig.set_size_inches(6.4, 3.6)
    running = 0.0
    for i, d in enumerate(deltas):
        start = 0.0 if i == 0 else running
        colour = "#0b4f9c" if i == 0 else ("#b00020" if d > 0 else "#2e7d32")
        ax.barh(i, d, left=start, color=colour)
        running = start + d
    ax.barh(len(deltas), running, color="#0b4f9c")
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_title(f"{target}: contributions to the log-odds of overrun", fontsize=9)
    ax.tick_params(labelsize=7)
    return _svg(fig)
