"""The ``pmo-risk`` command line: simulate, import, train, promote, score, explain, serve, demo."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from risk_model.config import TARGETS, Settings
from risk_model.exceptions import (
    InsufficientData,
    ModelNotAvailable,
    PmoRiskError,
)
from training import cli_keys, cli_scores
from training.cli_scores import refresh_stored_scores

app = typer.Typer(
    name="pmo-risk",
    help=(
        "Predictive project risk for PMOs: import project history, train calibrated overrun "
        "models, rank the portfolio by risk with the reasons in plain words, serve the API."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)
# Piped output (CI logs, files) gets a readable width instead of 80 columns.
out = Console(width=None if sys.stdout.isatty() else 160)

HomeOpt = Annotated[
    Path | None,
    typer.Option(
        "--home",
        help="Data directory (store + MLflow). Default: $PMO_RISK_HOME or ~/.pmo-risk.",
        show_default=False,
    ),
]


def _settings(ctx: typer.Context) -> Settings:
    settings: Settings = ctx.obj
    settings.ensure_home()
    return settings


@app.callback()
def _main(
    ctx: typer.Context,
    home: HomeOpt = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show MLflow's logs.")] = False,
) -> None:
    """Predictive project risk for PMOs."""
    import logging
    import os

    if not verbose:
        # MLflow sets its loggers' level when it is first imported, from this variable.
        os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "ERROR")
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        for name in ("mlflow", "alembic"):
            logging.getLogger(name).setLevel(logging.ERROR)
    ctx.obj = Settings(home=home) if home is not None else Settings()


@contextmanager
def _steps(total: int) -> Iterator[Any]:
    """A progress bar over named steps; yields ``advance(description)``."""
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task("starting", total=total)
        state = {"first": True}

        def advance(description: str) -> None:
            if state["first"]:
                state["first"] = False
            else:
                progress.advance(task)
            progress.update(task, description=description)

        yield advance
        progress.update(task, completed=total, description="done")


def _fail(exc: PmoRiskError) -> None:
    console.print(f"[red]error:[/red] {exc}")
    raise typer.Exit(code=2)


def _store(settings: Settings) -> Any:
    from risk_model.store import Store

    return Store(settings.store_url).init()


def _registry(settings: Settings) -> Any:
    from model_registry.registry import ModelRegistry

    return ModelRegistry.from_settings(settings)


def _simulate(settings: Settings, projects: int, seed: int) -> Any:
    from training.simulate import simulate_portfolio

    with console.status(f"simulating {projects} projects"):
        return simulate_portfolio(
            projects,
            seed=seed,
            schedule_threshold=settings.schedule_threshold,
            cost_threshold=settings.cost_threshold,
        )


def _write_portfolio(sim: Any, folder: Path, *, oracle: bool) -> tuple[Path, Path]:
    """projects.csv and snapshots.csv (and oracle.csv) of a simulated portfolio in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = (folder / "projects.csv", folder / "snapshots.csv")
    sim.projects.to_csv(paths[0], index=False, date_format="%Y-%m-%d")
    sim.snapshots.to_csv(paths[1], index=False, date_format="%Y-%m-%d")
    if oracle:
        sim.oracle.to_csv(folder / "oracle.csv", index=False, date_format="%Y-%m-%d")
    return paths


# --------------------------------------------------------------------------------- simulate
@app.command()
def simulate(
    ctx: typer.Context,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for projects.csv, snapshots.csv")],
    projects: Annotated[int, typer.Option(help="Number of projects.")] = 1000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
) -> None:
    """Write a synthetic portfolio (projects.csv, snapshots.csv, oracle.csv) to a folder.

    oracle.csv holds each report's true overrun probability under the simulator: for
    evaluation only (pass it to `train --oracle`), never a feature.
    """
    sim = _simulate(ctx.obj, projects, seed)
    _write_portfolio(sim, out_dir, oracle=True)
    console.print(
        f"wrote {len(sim.projects)} projects and {len(sim.snapshots)} reports to {out_dir}"
    )


# ------------------------------------------------------------------------------------ train
def _train(
    settings: Settings,
    oracle: pd.DataFrame | None,
    promote: bool,
    targets: Sequence[str] = TARGETS,
    *,
    required: bool = False,
) -> dict[str, Any]:
    """Train and register ``targets``; a target without enough labelled history is skipped
    with the reason (an error when ``required``: the user named it)."""
    from features.pipeline import build_features
    from training.drift import current_rows
    from training.labels import labelled_rows
    from training.train import fit_target, log_and_register

    store = _store(settings)
    projects = store.projects()
    snapshots = store.snapshots()
    if projects.empty:
        raise PmoRiskError("the store is empty: run `pmo-risk import` first")
    fits: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    with _steps(3 * len(targets) + 1) as advance:
        advance(f"building features for {len(snapshots)} reports of {len(projects)} projects")
        from risk_model.risk_register import RiskRegister

        register = RiskRegister(store).frames()
        features = build_features(projects, snapshots, register=register)
        for target in targets:
            try:
                labelled = labelled_rows(features, projects, snapshots, target, settings)
                fits[target] = fit_target(labelled, settings, oracle=oracle, progress=advance)
            except InsufficientData as exc:
                if required:
                    raise
                skipped[target] = str(exc)
        versions = log_and_register(
            fits,
            _registry(settings),
            promote=promote,
            progress=advance,
            current=current_rows(features, projects),
            psi_threshold=settings.psi_threshold,
        )
    for target, fit in fits.items():
        out.print(f"\n[bold]{target} model[/bold] (version {versions[target]}), test set:")
        out.print(fit.table, highlight=False)
    for target, reason in skipped.items():
        console.print(f"[yellow]{target}: not trained[/yellow]: {reason}")
    if not fits:
        raise InsufficientData("no target could be trained: " + "; ".join(skipped.values()))
    refresh_stored_scores(settings, quiet=True)
    return {"fits": fits, "versions": versions, "skipped": skipped}


@app.command()
def train(
    ctx: typer.Context,
    schedule_threshold: Annotated[
        float | None, typer.Option(help="Schedule overrun: slip > this share of duration.")
    ] = None,
    cost_threshold: Annotated[
        float | None, typer.Option(help="Cost overrun: final cost > budget by this share.")
    ] = None,
    oracle: Annotated[
        Path | None, typer.Option(help="oracle.csv from `simulate`, to report the best achievable.")
    ] = None,
    promote: Annotated[bool, typer.Option(help="Make the new models champion at once.")] = False,
    target: Annotated[
        list[str] | None,
        typer.Option(help="Target(s) to train: schedule, cost, forward (default: all)."),
    ] = None,
    horizon_months: Annotated[
        int | None, typer.Option(help="Forward target: window length in months (default 6).")
    ] = None,
    slip_days: Annotated[
        float | None, typer.Option(help="Forward target: forecast finish move in days (30).")
    ] = None,
    cost_growth: Annotated[
        float | None, typer.Option(help="Forward target: forecast cost growth share (0.05).")
    ] = None,
) -> None:
    """Train, evaluate and register the overrun models on the stored history.

    Projects are split by finish date (earliest train, next calibrate, latest test); metrics
    on the test projects are printed beside the EVM rule, index forecasts, the PM's own
    forecast and the category base rate, overall and by stage. Each new version becomes
    `challenger` (and `champion` if it is the first); promote with `pmo-risk promote`.
    """
    settings = _settings(ctx)
    updates: dict[str, float] = {}
    if schedule_threshold is not None:
        updates["schedule_threshold"] = schedule_threshold
    if cost_threshold is not None:
        updates["cost_threshold"] = cost_threshold
    for key, value in (
        ("forward_horizon_months", horizon_months),
        ("forward_slip_days", slip_days),
        ("forward_cost_growth", cost_growth),
    ):
        if value is not None:
            updates[key] = value
    if updates:
        settings = Settings(**{**settings.model_dump(), **updates})
    oracle_frame = pd.read_csv(oracle, parse_dates=["as_of"]) if oracle else None
    if oracle_frame is not None:
        oracle_frame["project_id"] = oracle_frame["project_id"].astype(str)
    try:
        targets = _targets(target)
        _train(settings, oracle_frame, promote, targets, required=bool(target))
    except PmoRiskError as exc:
        _fail(exc)


def _targets(chosen: Sequence[str] | None) -> tuple[str, ...]:
    """The targets a user named (validated), or every target."""
    if not chosen:
        return TARGETS
    unknown = [t for t in chosen if t not in TARGETS]
    if unknown:
        raise PmoRiskError(f"unknown target {unknown[0]!r}; expected one of {', '.join(TARGETS)}")
    return tuple(dict.fromkeys(chosen))


# ---------------------------------------------------------------------------------- promote
@app.command()
def promote(
    ctx: typer.Context,
    target: Annotated[str | None, typer.Option(help="schedule or cost (default: both).")] = None,
    version: Annotated[
        str | None, typer.Option(help="Version to promote (default: the challenger).")
    ] = None,
) -> None:
    """Move the `champion` alias (default: to the current challenger)."""
    settings = _settings(ctx)
    registry = _registry(settings)
    targets = [target] if target else list(TARGETS)
    try:
        for t in targets:
            v = registry.promote(t, version)
            console.print(f"{registry.model_name(t)}: champion -> version {v}")
        refresh_stored_scores(settings)
    except (PmoRiskError, ValueError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=2) from None


@app.command()
def models(ctx: typer.Context) -> None:
    """List registered model versions, their aliases and headline test metrics."""
    registry = _registry(_settings(ctx))
    table = Table("model", "version", "aliases", "trained", "test AUC", "test Brier")
    for m in registry.list_models():
        table.add_row(
            m.name,
            m.version,
            ", ".join(m.aliases),
            m.created_at.strftime("%Y-%m-%d %H:%M"),
            f"{m.metrics.get('test.overall.model.roc_auc', float('nan')):.3f}",
            f"{m.metrics.get('test.overall.model.brier', float('nan')):.3f}",
        )
    out.print(table)


# ------------------------------------------------------------------------------------ score
def _load_models(settings: Settings) -> dict[str, Any]:
    """The champion of every target that has one (at least one is required)."""
    registry = _registry(settings)
    loaded: dict[str, Any] = {}
    missing: list[str] = []
    for t in TARGETS:
        try:
            loaded[t] = registry.load(t)
        except ModelNotAvailable:
            missing.append(t)
    if not loaded:
        raise ModelNotAvailable(
            "no champion model registered: run `pmo-risk train` (or `pmo-risk demo`) first"
        )
    return loaded


def _ranked(scores: list[Any], target: str = "schedule") -> list[Any]:
    def key(s: Any) -> float:
        p = s.scores[target].probability
        return -1.0 if p is None else float(p)

    return sorted(scores, key=key, reverse=True)


@app.command()
def score(
    ctx: typer.Context,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Use only reports up to this date (YYYY-MM-DD).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or json.")] = "csv",
    output: Annotated[Path | None, typer.Option("--out", help="File (default: stdout).")] = None,
    target: Annotated[str, typer.Option(help="Rank by schedule, cost or forward.")] = "schedule",
) -> None:
    """Rank every active project at its latest report (or as of a date) by overrun risk.

    Columns: project_id, as_of, both probabilities and bands, top drivers in words, and the
    reason when a project has too little data to score.
    """
    from risk_model.portfolio import score_portfolio
    from risk_model.scoring import scores_to_frame

    if fmt not in ("csv", "json") or target not in TARGETS:
        console.print(
            f"[red]error:[/red] --format is csv or json; --target one of {', '.join(TARGETS)}"
        )
        raise typer.Exit(code=2)
    settings = _settings(ctx)
    try:
        when = pd.Timestamp(as_of) if as_of else None
    except ValueError:
        console.print(f"[red]error:[/red] --as-of {as_of!r} is not a date")
        raise typer.Exit(code=2) from None
    try:
        with console.status("scoring portfolio"):
            models = _load_models(settings)
            if target not in models:
                raise ModelNotAvailable(f"no champion model for {target}: train it first")
            scores = score_portfolio(_store(settings), models, settings, as_of=when)
    except PmoRiskError as exc:
        _fail(exc)
    frame = scores_to_frame(_ranked(scores, target))
    if fmt == "csv":
        from risk_model.exports import neutralise_frame

        text = neutralise_frame(frame).to_csv(index=False, date_format="%Y-%m-%d")
    else:
        text = frame.to_json(orient="records", date_format="iso", indent=2)
    if output:
        output.write_text(text)
        console.print(f"wrote {len(frame)} projects to {output}")
    else:
        sys.stdout.write(text)


def percent(p: float | None) -> str:
    """A probability as people read it: never a false 0% or 100%."""
    if p is None:
        return "n/a"
    if p < 0.01:
        return "<1%"
    if p > 0.99:
        return ">99%"
    return f"{p:.0%}"


def _when(value: Any) -> str:
    return pd.Timestamp(value).strftime("%Y-%m-%d") if pd.notna(value) else "-"


def print_ranking(scores: list[Any], top: int, target: str = "schedule") -> None:
    """A rich table of the top projects: probabilities, bands and drivers of both targets."""
    table = Table(title=f"Top {top} active projects by {target} risk", show_lines=True)
    present = [t for t in TARGETS if any(t in s.scores for s in scores)]
    for col in ("#", "project", "as of", *present, f"why ({target})"):
        table.add_column(col, overflow="fold")

    def cell(ts: Any) -> str:
        if ts is None or ts.probability is None:
            return "n/a"
        return f"{percent(ts.probability)} {ts.band}"

    def why(ts: Any) -> str:
        if ts.probability is None:
            return ts.reason or ""
        return "\n".join(f"{d.points:+.0f} pts {d.text}" for d in ts.drivers)

    for i, s in enumerate(_ranked(scores, target)[:top], 1):
        cells = [cell(s.scores.get(t)) for t in present]
        table.add_row(str(i), str(s.project_id), _when(s.as_of), *cells, why(s.scores[target]))
    out.print(table)


@app.command()
def explain(
    ctx: typer.Context,
    project_id: Annotated[str, typer.Argument(help="Project to explain.")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="Date (YYYY-MM-DD).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Explain one project's risk: probability, band and every feature's contribution."""
    from features.pipeline import build_features
    from features.registry import FEATURES
    from risk_model.exceptions import UnknownProject
    from risk_model.portfolio import score_features

    settings = _settings(ctx)
    store = _store(settings)
    try:
        when = pd.Timestamp(as_of) if as_of else None
        project = store.project(project_id)
        snaps = store.snapshots(project_ids=[project_id], until=when)
        from risk_model.risk_register import RiskRegister

        register = RiskRegister(store).frames([project_id])
        features = build_features(project.to_frame().T.infer_objects(), snaps, register=register)
        [result] = score_features(
            features, _load_models(settings), settings, full=True, with_ranges=True
        )
    except UnknownProject as exc:
        _fail(exc)
    except PmoRiskError as exc:
        _fail(exc)
    if as_json:
        from dataclasses import asdict

        sys.stdout.write(json.dumps(asdict(result), default=str, indent=2) + "\n")
        return
    out.print(
        f"[bold]{project_id}[/bold] {project.get('name') or ''}, report of {_when(result.as_of)}"
    )
    for target, ts in result.scores.items():
        if ts.probability is None:
            out.print(f"  {target}: cannot score: {ts.reason}")
            continue
        out.print(f"\n  [bold]{target}[/bold]: {percent(ts.probability)} ({ts.band})")
        if ts.overrun is not None:
            out.print(f"    {_overrun_text(target, ts.overrun, project)}")
        for d in ts.drivers:
            out.print(f"    {d.points:+5.1f} pts  {d.text}")
        contributions = sorted(
            (ts.contributions or {}).items(), key=lambda kv: abs(kv[1]), reverse=True
        )
        table = Table("feature", "value", "contribution (log-odds)", "meaning")
        row = features.iloc[-1]
        for name, c in contributions[:12]:
            spec = FEATURES.get(name)
            value = row.get(name)
            shown = f"{value:.4g}" if isinstance(value, float) else str(value)
            table.add_row(name, shown, f"{c:+.3f}", spec.meaning if spec else "")
        out.print(table)


def _overrun_text(target: str, overrun: Any, project: Any) -> str:
    """P10 / P50 / P90 of the overrun in words: finish dates or costs from the baseline."""
    from risk_model.ranges import RANGE_COLUMNS, project_overrun

    ratios = (overrun.p10, overrun.p50, overrun.p90)
    shares = "/".join(f"{v:+.0%}" for v in ratios)
    units = project_overrun(ratios, target, dict(project.items()))
    if "finish_p50" in units:
        when = ", ".join(f"{c.upper()} {units[f'finish_{c}']}" for c in RANGE_COLUMNS)
        return f"finish: {when} (slip {shares} of planned duration)"
    if "cost_p50" in units:
        spend = ", ".join(f"{c.upper()} {units[f'cost_{c}']:,.0f}" for c in RANGE_COLUMNS)
        return f"cost at completion: {spend} ({shares} of budget)"
    return f"overrun P10/P50/P90: {shares}"


# ------------------------------------------------------------------------------------ serve
@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Bind address.")] = None,
    port: Annotated[int | None, typer.Option(help="Port.")] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Worker processes (one per core); each uses PMO_RISK_NUM_THREADS threads.",
        ),
    ] = 1,
) -> None:
    """Serve the API (interactive docs at /docs) with the champion models."""
    import os

    import uvicorn

    settings = _settings(ctx)
    os.environ["PMO_RISK_HOME"] = str(settings.home)
    h, p = host or settings.host, port or settings.port
    console.print(f"API on http://{h}:{p}  (docs: http://{h}:{p}/docs), {workers} worker(s)")
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=h,
        port=p,
        workers=workers if workers > 1 else None,
        http="api.serving:NoDelayProtocol",  # TCP_NODELAY also with workers (api/serving.py)
        log_level="info",
    )


# ------------------------------------------------------------------------------------- demo
@app.command()
def demo(
    ctx: typer.Context,
    projects: Annotated[int, typer.Option(help="Synthetic projects to simulate.")] = 1000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    serve_api: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Start the API afterwards.")
    ] = True,
    top: Annotated[int, typer.Option(help="How many projects to list.")] = 20,
    dataset: Annotated[
        str, typer.Option(help="synthetic (default) or nyc (NYC capital projects).")
    ] = "synthetic",
    file: Annotated[
        Path | None,
        typer.Option(help="Local copy of the data set (nyc: the Open Data CSV export)."),
    ] = None,
) -> None:
    """Simulate a portfolio (or load a public one), import it, train, promote, rank, serve.

    Everything lands in the data directory (--home / $PMO_RISK_HOME): the SQLite store and
    the MLflow store with its runs, plots and registered models. With `--dataset nyc` the NYC
    capital projects history is loaded from --file (or downloaded once, with a cache); its
    projects have not finished, so the forward target is trained and the outcome targets are
    skipped with the reason.
    """
    import tempfile

    from features.sources.importer import import_files
    from risk_model.portfolio import score_portfolio

    settings = _settings(ctx)
    console.print(f"[bold]pmo-risk demo[/bold]: data directory {settings.home}")
    try:
        if dataset == "nyc":
            from features.sources.datasets.nyc import load_nyc

            settings.ensure_home()
            with console.status("loading NYC capital projects"):
                nyc_projects, nyc_snapshots = load_nyc(file, cache_dir=settings.home / "cache")
                summary = _store(settings).import_frames(nyc_projects, nyc_snapshots)
            console.print(f"imported: {summary}")
            result = _train(settings, None, promote=True)
        elif dataset == "synthetic":
            sim = _simulate(settings, projects, seed)
            with tempfile.TemporaryDirectory() as tmp, console.status("importing"):
                p_path, s_path = _write_portfolio(sim, Path(tmp), oracle=False)
                summary = import_files(_store(settings), p_path, s_path)
            console.print(f"imported: {summary}")
            result = _train(settings, sim.oracle, promote=True)
        else:
            raise PmoRiskError(f"unknown dataset {dataset!r}: synthetic or nyc")
        with console.status("ranking the active portfolio"):
            scores = score_portfolio(_store(settings), _load_models(settings), settings)
    except PmoRiskError as exc:
        _fail(exc)
    ranked_by = next(t for t in TARGETS if t in result["versions"])
    print_ranking(scores, top, ranked_by)
    versions = result["versions"]
    console.print(f"champion versions: {versions}; runs and plots in {settings.mlflow_uri}")
    key = cli_keys.create_key(settings, "admin", "demo admin", [])
    console.print(
        "admin API key (shown once; send it as 'Authorization: Bearer <key>' or sign in at /login):"
    )
    out.print(key, highlight=False, soft_wrap=True)
    if serve_api:
        serve(ctx, None, None)


cli_scores.register(app)
cli_keys.register(app)


def _register_commands() -> None:
    """Commands that live in their own modules (each adds itself to ``app``)."""
    from training import cli_data, cli_evaluate, cli_report, cli_retrain, cli_schedules

    cli_data.register(app)
    cli_schedules.register(app)  # issue 4: schedule-check
    cli_evaluate.register(app)  # issue 3: evaluate
    cli_retrain.register(app)  # issue 3 section 5: retrain
    cli_report.register(app)  # issue 5: report, alerts


_register_commands()


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
