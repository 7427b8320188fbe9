"""Where templates, static files and the chart library come from (all local)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from fastapi.templating import Jinja2Templates

API_DIR = Path(__file__).resolve().parent.parent
TEMPLATE_DIR = API_DIR / "templates"
STATIC_DIR = API_DIR / "static"


def plotly_js() -> Path:
    """The plotly.js bundle shipped inside the ``plotly`` Python package."""
    import plotly

    return Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


@lru_cache(maxsize=1)
def templates() -> Jinja2Templates:
    """The Jinja2 environment of the pages (created on first use, never at import)."""
    from api.web.views import money

    t = Jinja2Templates(directory=str(TEMPLATE_DIR))
    t.env.filters["money"] = money
    t.env.filters["pct"] = lambda p: "\u2014" if p is None else f"{100.0 * p:.0f}%"
    return t


def compile_templates() -> int:
    """Load (compile and cache) every page template now; returns how many there are."""
    env = templates().env
    names = env.list_templates(extensions=["html"])
    for name in names:
        env.get_template(name)
    return len(names)
