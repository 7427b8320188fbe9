"""Static charts of the report (matplotlib, no pyplot state), drawn for the output they go in:
inline SVG in the HTML report (sharp at any zoom), PNG in the PDF (WeasyPrint draws SVG node by
node in Python: 50 SVG charts took ~20 s to print, the same charts as PNG well under a second).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

import pandas as pd

from risk_model.scoring import ProjectScore

_SIZE = (6.4, 2.6)
_PNG_DPI = 150
CHART_FORMATS = ("svg", "png")


class Chart:
    """One drawn figure with its title; ``html(fmt)`` gives it as inline SVG or as a PNG
    ``<img>`` (alt text: the title)."""

    __slots__ = ("_figure", "title")

    def __init__(self, figure: Any, title: str) -> None:
        self._figure = figure
        self.title = title

    def svg(self) -> str:
        """SVG with its text as text, not glyph outlines (a tenth of the nodes)."""
        from matplotlib import rc_context

        buf = io.StringIO()
        with rc_context({"svg.fonttype": "none"}):
            self._figure.savefig(buf, format="svg")
        text = buf.getvalue()
        return text[text.index("<svg") :]

    def png(self) -> bytes:
        buf = io.BytesIO()
        self._figure.savefig(buf, format="png", dpi=_PNG_DPI)
        return buf.getvalue()

    def html(self, fmt: str = "svg") -> str:
        if fmt == "svg":
            return self.svg()
        if fmt != "png":
            raise ValueError(f"chart format must be one of {CHART_FORMATS}, not {fmt!r}")
        data = base64.b64encode(self.png()).decode("ascii")
        return f'<img src="data:image/png;base64,{data}" alt="{escape(self.title, quote=True)}">'


def _figure(left: float = 0.08) -> tuple[Any, Any]:
    """A figure with fixed margins (an automatic layout costs a second drawing pass)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=_SIZE, dpi=100)
    fig.subplots_adjust(left=left, right=0.98, top=0.88, bottom=0.14)
    ax = fig.add_subplot(1, 1, 1)
    ax.grid(alpha=0.3)
    return fig, ax


def indices_chart(features: pd.DataFrame) -> Chart:
    """SPI, CPI and SPI(t) at each report."""
    fig, ax = _figure()
    x = features["as_of"]
    for col, label, style in (("spi", "SPI", "-"), ("cpi", "CPI", "-"), ("spi_t", "SPI(t)", ":")):
        if col in features and features[col].notna().any():
            ax.plot(x, features[col], style, marker="o", ms=3, label=label)
    ax.axhline(1.0, color="grey", lw=0.8)
    title = "Performance indices (1 = on plan)"
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="best")
    ax.tick_params(labelsize=7)
    return Chart(fig, title)


def risk_chart(history: Sequence[ProjectScore]) -> Chart:
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
    title = "Overrun probability at each report (%)"
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    ax.tick_params(labelsize=7)
    return Chart(fig, title)


def waterfall_chart(target: str, base: float | None, contributions: Mapping[str, float]) -> Chart:
    """The ten largest contributions to the log-odds, from the base value to this project."""
    items = sorted(contributions.items(), key=lambda kv: -abs(kv[1]))
    top, rest = items[:10], sum(v for _, v in items[10:])
    labels = ["base rate", *[k for k, _ in top], "all other features", "this project"]
    deltas = [float(base or 0.0), *[v for _, v in top], rest]
    longest = max(len(label) for label in labels)
    fig, ax = _figure(left=min(0.55, 0.06 + 0.0095 * longest))  # room for the labels
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
    title = f"{target}: contributions to the log-odds of overrun"
    ax.set_title(title, fontsize=9)
    ax.tick_params(labelsize=7)
    return Chart(fig, title)
