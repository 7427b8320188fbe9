"""``pmo-risk keys``: create, list and revoke API keys (stored hashed in the store)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from risk_model.config import Settings
from risk_model.exceptions import PmoRiskError

keys_app = typer.Typer(
    name="keys",
    help="API keys: viewer (read), analyst (+ score, import), admin (+ promote, keys).",
    no_args_is_help=True,
)


def create_key(settings: Settings, role: str, name: str, portfolios: list[str]) -> str:
    """A new key in the store of ``settings`` (the plain key, to show once)."""
    from risk_model.keys import KeyRing
    from training.cli import _store

    _, key = KeyRing(_store(settings)).create(role, name, portfolios)
    return key


@keys_app.command("create")
def create(
    ctx: typer.Context,
    role: Annotated[str, typer.Option(help="viewer, analyst or admin.")],
    name: Annotated[str, typer.Option(help="Who or what uses the key.")],
    portfolio: Annotated[
        list[str] | None,
        typer.Option("--portfolio", help="Limit the key to this portfolio (repeatable)."),
    ] = None,
) -> None:
    """Create a key and print it once (it is stored only as a hash)."""
    from risk_model.keys import KeyRing
    from training.cli import _fail, _settings, _store, console, out

    settings = _settings(ctx)
    try:
        record, key = KeyRing(_store(settings)).create(role, name, portfolio or [])
    except PmoRiskError as exc:
        _fail(exc)
    scope = ", ".join(record.portfolios) or "all portfolios"
    console.print(
        f"created {record.role} key [bold]{record.key_id}[/bold] ({record.name}; {scope}). "
        "Copy it now: it will not be shown again."
    )
    out.print(key, highlight=False, soft_wrap=True)


@keys_app.command("list")
def list_(ctx: typer.Context) -> None:
    """Every key: id, name, role, portfolios, created, revoked (never the secret)."""
    from risk_model.keys import KeyRing
    from training.cli import _settings, _store, out

    table = Table("id", "name", "role", "portfolios", "created", "revoked")
    for k in KeyRing(_store(_settings(ctx))).list():
        table.add_row(
            k.key_id,
            k.name,
            k.role,
            ", ".join(k.portfolios) or "all",
            k.created_at.strftime("%Y-%m-%d %H:%M"),
            k.revoked_at.strftime("%Y-%m-%d %H:%M") if k.revoked_at else "",
        )
    out.print(table)


@keys_app.command("revoke")
def revoke(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(help="The key id (from `keys list`).")],
) -> None:
    """Revoke a key: requests with it are refused at once."""
    from risk_model.keys import KeyRing
    from training.cli import _fail, _settings, _store, console

    try:
        record = KeyRing(_store(_settings(ctx))).revoke(key_id)
    except PmoRiskError as exc:
        _fail(exc)
    console.print(f"revoked key {record.key_id} ({record.name})")


def register(app: typer.Typer) -> None:
    """Add ``keys`` to the ``pmo-risk`` command line."""
    app.add_typer(keys_app)
