"""``pmo-risk rescore`` and the stored-score refresh the other commands run (issue 6).

After ``import``, ``train`` (when it moves a champion) and ``promote`` the stored scores of the
portfolio are recomputed with the champion models, so the API's ranking and project pages
read them instead of scoring on request.
"""

from __future__ import annotations

from typing import Any

import typer

from risk_model.config import TARGETS, Settings
from risk_model.exceptions import PmoRiskError


def refresh_stored_scores(settings: Settings, *, quiet: bool = False, force: bool = False) -> Any:
    """Rescore every project with the champions (of the targets that have one); None (and a
    note) when there is none.

    Returns the new ``ScoreState`` (the current one, unless ``force``, when the stored scores
    already describe the store's revision and the champion versions).
    """
    from risk_model.portfolio import refresh_scores
    from risk_model.score_store import ScoreStore
    from training.cli import _registry, _store, console

    registry = _registry(settings)
    champions = {t: v for t in TARGETS if (v := registry.version_for(t, "champion")) is not None}
    if not champions:
        if not quiet:
            console.print("stored scores not refreshed: no champion model yet")
        return None
    store = _store(settings)
    current = ScoreStore(store).state()
    if not force and current is not None and current.matches(store.revision(), champions):
        return current
    models = {t: registry.load(t) for t in champions}
    with console.status("storing the portfolio's scores"):
        state = refresh_scores(
            store, ScoreStore(store).init(), models, settings, incremental=not force
        )
    if not quiet:
        console.print(
            f"stored {state.rows} scores (store revision {state.revision}, "
            f"models {', '.join(f'{t} v{v}' for t, v in sorted(state.versions.items()))})"
        )
    return state


def register(app: typer.Typer) -> None:
    """Add ``rescore`` to the CLI."""

    @app.command()
    def rescore(ctx: typer.Context) -> None:
        """Recompute and store every project's scores with the champion models.

        `import`, `train` and `promote` do it already; use it after changing the registry
        by other means (e.g. moving an alias in the MLflow UI).
        """
        from training.cli import _fail, _settings

        try:
            if refresh_stored_scores(_settings(ctx), force=True) is None:
                raise typer.Exit(code=2)
        except PmoRiskError as exc:
            _fail(exc)
