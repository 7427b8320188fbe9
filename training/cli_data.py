"""``pmo-risk import``, ``template`` and ``datasets``: getting a portfolio's history in."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.markup import escape

from risk_model.exceptions import PmoRiskError, ValidationFailed
from training.cli import _settings, _store, console
from training.cli_scores import refresh_stored_scores

datasets_app = typer.Typer(
    name="datasets",
    help="Public portfolio data sets (UK GMPP, US IT Dashboard, NYC capital projects).",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add ``import``, ``template`` and ``datasets`` to the CLI."""
    app.command("import")(import_)
    app.command("template")(template)
    app.add_typer(datasets_app)


def _say(text: str) -> None:
    """One message, never wrapped (file paths and problem lines stay whole and greppable)."""
    console.print(text, soft_wrap=True, highlight=False)


def _fail(exc: PmoRiskError) -> NoReturn:
    console.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True, highlight=False)
    raise typer.Exit(code=2)


def _print_read(line: str) -> None:
    """One line of what a schedule file held (or why it was skipped)."""
    style = "yellow" if line.startswith("skipped") else "dim"
    console.print(f"  [{style}]{line}[/{style}]", highlight=False, soft_wrap=True)


def _print_found(lines: list[str]) -> None:
    console.print("[bold]found[/bold]:")
    for line in lines:
        console.print(f"  - {line}", highlight=False, markup=False, soft_wrap=True)


def _suggest(source: Path, out_path: Path | None, sheets: list[str]) -> None:
    from features.sources.mapping import mapping_to_yaml
    from features.sources.suggest import suggest_mapping
    from features.sources.tabular import read_headers

    headers, frame = read_headers(source, sheets[0] if sheets else None)
    suggestion = suggest_mapping(headers, frame, source=source.name)
    target = out_path or source.with_name(source.stem + ".mapping.yaml")
    if target.exists():
        console.print(f"[red]error:[/red] {target} exists; choose another with --out")
        raise typer.Exit(code=2)
    target.write_text(mapping_to_yaml(suggestion.mapping, suggestion.notes), encoding="utf-8")
    for table, columns in (
        ("projects", suggestion.mapping.projects),
        ("snapshots", suggestion.mapping.snapshots),
    ):
        for canonical, user in columns.items():
            _say(escape(f"  {table}.{canonical} <- {user.splitlines()[0]!r}"))
    console.print(f"wrote {target}: check it, then `pmo-risk import --mapping {target} {source}`")


def import_(
    ctx: typer.Context,
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Files or folders: CSV/XLSX tables (recognised by their headers), P6 XER/PMXML, "
            "MSPDI XML, .mpp, or a folder of schedule updates.",
            show_default=False,
        ),
    ] = None,
    projects: Annotated[
        Path | None, typer.Option("--projects", help="Projects file (CSV or XLSX).")
    ] = None,
    snapshots: Annotated[
        Path | None, typer.Option("--snapshots", help="Status reports file (CSV or XLSX).")
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option("--mapping", help="Column mapping (YAML or TOML): your columns and formats."),
    ] = None,
    sheet: Annotated[
        list[str] | None,
        typer.Option("--sheet", help="Workbook sheet to read (repeatable); default: all sheets."),
    ] = None,
    suggest: Annotated[
        Path | None,
        typer.Option(
            "--suggest-mapping",
            help="Propose a mapping for this file's headers and write it (nothing imported).",
        ),
    ] = None,
    out_path: Annotated[
        Path | None,
        typer.Option("--out", help="Where --suggest-mapping writes (default: FILE.mapping.yaml)."),
    ] = None,
    skip_bad: Annotated[
        bool, typer.Option(help="Schedule folders: skip files that cannot be read.")
    ] = False,
    dry_run: Annotated[bool, typer.Option(help="Validate only; write nothing.")] = False,
) -> None:
    """Recognise, validate and import portfolio history, all or nothing.

    Give files in any order: a projects table and a status-reports table (CSV, or sheets of
    one workbook) are told apart by their headers; a single table holding both project
    fields and report dates is split into both. Columns named your way are read through
    --mapping (see --suggest-mapping). What was found is printed before anything is
    written; every problem is listed by file, sheet, row and column, and a rejected import
    changes nothing. Importing the same files again changes nothing.
    """
    from features.sources.importer import import_paths
    from features.sources.intake import survey
    from features.sources.mapping import ColumnMapping, load_mapping

    sheets = list(sheet or [])
    if suggest is not None:
        try:
            _suggest(suggest, out_path, sheets)
        except PmoRiskError as exc:
            _fail(exc)
        return
    roles = {p: r for p, r in ((projects, "projects"), (snapshots, "snapshots")) if p is not None}
    every = [*(paths or []), *roles]
    if not every:
        console.print("[red]error:[/red] give files to import (or --projects / --snapshots)")
        raise typer.Exit(code=2)
    settings = _settings(ctx)
    try:
        column_mapping = load_mapping(mapping) if mapping is not None else ColumnMapping()
        found = survey(every, column_mapping, sheets, roles=roles)  # type: ignore[arg-type]
        _print_found(found.found)
        store = _store(settings)
        with console.status("validating" if dry_run else "validating and importing"):
            summary = import_paths(
                store, found, skip_bad=skip_bad, dry_run=dry_run, notify=_print_read
            )
    except ValidationFailed as exc:
        _fail(exc)
    except PmoRiskError as exc:
        _fail(exc)
    if summary is None:
        console.print("[green]valid[/green]: nothing written (dry run)")
        return
    _say(f"[green]imported[/green] into {escape(settings.store_url)}: {summary}")
    if summary.changed:
        refresh_stored_scores(settings)


def template(
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder to write the templates to.")
    ] = Path("."),
    fmt: Annotated[str, typer.Option("--format", help="csv, xlsx or both.")] = "both",
) -> None:
    """Write empty projects/snapshots templates: CSV files and an XLSX with a notes sheet."""
    from features.sources.templates import write_templates

    formats = {"csv": ("csv",), "xlsx": ("xlsx",), "both": ("csv", "xlsx")}.get(fmt)
    if formats is None:
        console.print("[red]error:[/red] --format is csv, xlsx or both")
        raise typer.Exit(code=2)
    existing = [p for p in _template_paths(out_dir, formats) if p.exists()]
    if existing:
        console.print(f"[red]error:[/red] would overwrite {', '.join(map(str, existing))}")
        raise typer.Exit(code=2)
    for path in write_templates(out_dir, formats):
        _say(escape(f"wrote {path}"))


def _template_paths(folder: Path, formats: tuple[str, ...]) -> list[Path]:
    from features.sources.templates import TEMPLATE_TABLES, WORKBOOK

    paths = [folder / f"{t}.csv" for t in TEMPLATE_TABLES] if "csv" in formats else []
    return paths + ([folder / WORKBOOK] if "xlsx" in formats else [])


@datasets_app.command("list")
def datasets_list() -> None:
    """The public data sets that `datasets load` reads, with what they hold."""
    from features.sources.datasets import DATASETS

    for d in DATASETS.values():
        _say(f"[bold]{d.name}[/bold]: {escape(d.title)}")
        _say(escape(f"    {d.description}"))
        _say(escape(f"    licence: {d.licence}; files: {len(d.sources)}"))


@datasets_app.command("load")
def datasets_load(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Data set name (see `datasets list`).")],
    file: Annotated[
        list[Path] | None,
        typer.Option("--file", help="Local file or folder (repeatable); default: download once."),
    ] = None,
    download: Annotated[
        bool, typer.Option(help="Download the public files when not cached.")
    ] = True,
    dry_run: Annotated[bool, typer.Option(help="Load and describe only; write nothing.")] = False,
) -> None:
    """Load a public data set into the store (from --file, or its public source, cached)."""
    from features.sources.datasets import get_dataset, load_dataset
    from features.sources.summary import describe_history

    settings = _settings(ctx)
    try:
        dataset = get_dataset(name)
        with console.status(f"loading {dataset.title}"):
            projects, snapshots = load_dataset(
                name, file or [], cache_dir=settings.datasets_dir, download=download
            )
        _print_found(describe_history(projects, snapshots))
        if dry_run:
            console.print("nothing written (dry run)")
            return
        summary = _store(settings).import_frames(projects, snapshots)
    except PmoRiskError as exc:
        _fail(exc)
    _say(f"[green]imported[/green] {name} into {escape(settings.store_url)}: {summary}")
    if summary.changed:
        refresh_stored_scores(settings)
