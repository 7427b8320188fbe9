"""``pmo-risk keys`` and the demo's admin key, on a real store in a temp home."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from risk_model.config import Settings
from risk_model.keys import KeyRing
from risk_model.store import Store
from training.cli import app

runner = CliRunner()
KEY = re.compile(r"pmo_[0-9a-f]{12}_[A-Za-z0-9_\-]+")


def _run(home: Path, *args: str, code: int = 0) -> str:
    result = runner.invoke(app, ["--home", str(home), *args])
    assert result.exit_code == code, result.output
    return result.output


def _ring(home: Path) -> KeyRing:
    return KeyRing(Store(Settings(home=home).store_url).init())


def test_keys_create_prints_the_key_once_and_it_authenticates(tmp_path: Path) -> None:
    out = _run(
        tmp_path, "keys", "create", "--role", "analyst", "--name", "etl job",
        "--portfolio", "Infrastructure", "--portfolio", "IT",
    )  # fmt: skip
    [key] = KEY.findall(out)
    record = _ring(tmp_path).authenticate(key)
    assert record is not None and record.role == "analyst" and record.name == "etl job"
    assert record.portfolios == ("IT", "Infrastructure")
    listing = _run(tmp_path, "keys", "list")
    assert record.key_id in listing and "etl job" in listing and key not in listing


def test_keys_revoke_refuses_the_key_at_once(tmp_path: Path) -> None:
    [key] = KEY.findall(_run(tmp_path, "keys", "create", "--role", "viewer", "--name", "v"))
    ring = _ring(tmp_path)
    assert ring.authenticate(key) is not None
    key_id = key.split("_")[1]
    assert "revoked" in _run(tmp_path, "keys", "revoke", key_id)
    assert ring.authenticate(key) is None
    assert "no API key" in _run(tmp_path, "keys", "revoke", "ffffffffffff", code=2)


def test_keys_create_rejects_an_unknown_role(tmp_path: Path) -> None:
    out = _run(tmp_path, "keys", "create", "--role", "root", "--name", "x", code=2)
    assert "role must be one of viewer, analyst, admin" in out
    assert _ring(tmp_path).list() == []


def test_demo_creates_and_prints_an_admin_key(tmp_path: Path) -> None:
    out = _run(tmp_path, "demo", "--projects", "300", "--seed", "5", "--no-serve", "--top", "3")
    [key] = KEY.findall(out)
    record = _ring(tmp_path).authenticate(key)
    assert record is not None and record.role == "admin" and record.scope is None
