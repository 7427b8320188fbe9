"""API keys in a real SQLite store: created once, stored hashed, checked, revoked at once."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from risk_model.exceptions import PmoRiskError
from risk_model.keys import ROLES, KeyRing, UnknownKey, parse_key, role_allows
from risk_model.store import Store


@pytest.fixture
def ring(store_url: str) -> KeyRing:
    return KeyRing(Store(store_url).init())


def test_roles_are_ordered_viewer_analyst_admin() -> None:
    assert ROLES == ("viewer", "analyst", "admin")
    for i, have in enumerate(ROLES):
        for j, need in enumerate(ROLES):
            assert role_allows(have, need) is (i >= j)
    assert not role_allows("root", "viewer") and not role_allows("admin", "root")


def test_a_new_key_authenticates_and_is_stored_only_as_a_hash(ring: KeyRing) -> None:
    record, key = ring.create("analyst", "dashboard", ["B", "A", " "])
    assert record.portfolios == ("A", "B") and record.scope == frozenset({"A", "B"})
    assert parse_key(key) == (record.key_id, key.split("_", 2)[2])
    found = ring.authenticate(key)
    assert found is not None and found.key_id == record.key_id and found.role == "analyst"
    # a second check (remembered digest) gives the same answer
    assert ring.authenticate(key) == found
    with ring._store.engine.connect() as conn:  # the raw table never holds the secret
        rows = [tuple(map(str, r)) for r in conn.execute(sa.text("SELECT * FROM api_keys"))]
    secret = key.split("_", 2)[2]
    assert rows and not any(secret in cell for row in rows for cell in row)


def test_wrong_malformed_or_unknown_keys_are_refused(ring: KeyRing) -> None:
    record, key = ring.create("viewer", "v")
    other = f"pmo_{record.key_id}_{'x' * 43}"
    unknown = f"pmo_{'0' * 12}_{key.split('_', 2)[2]}"
    for bad in ("", "nonsense", key + "x", key[:-1], other, unknown, " " + key[:20]):
        assert ring.authenticate(bad) is None, bad
    # a wrong secret after a good one (digest remembered) is still refused
    assert ring.authenticate(key) is not None
    assert ring.authenticate(other) is None


def test_a_remembered_key_follows_its_stored_record(ring: KeyRing, store_url: str) -> None:
    """After its first check a key is checked with one read of its stored row: a change to
    the row (here its role and portfolios, written by another store object) is seen at once,
    and a changed hash refuses it."""
    record, key = ring.create("admin", "ops")
    assert ring.authenticate(key) == record
    assert ring.authenticate(key) == record  # the remembered path
    other = Store(store_url)
    table = other.api_keys
    with other.engine.begin() as conn:
        conn.execute(
            sa.update(table)
            .where(table.c.key_id == record.key_id)
            .values(role="viewer", portfolios='["P"]')
        )
    changed = ring.authenticate(key)
    assert changed is not None and changed.role == "viewer" and changed.portfolios == ("P",)
    with other.engine.begin() as conn:
        conn.execute(sa.update(table).where(table.c.key_id == record.key_id).values(hash="0" * 64))
    assert ring.authenticate(key) is None


def test_revocation_takes_effect_at_once_even_across_store_objects(
    ring: KeyRing, store_url: str
) -> None:
    record, key = ring.create("admin", "ops")
    assert ring.authenticate(key) is not None
    assert ring.authenticate(key) is not None  # remembered: later checks are one read
    # another process (the CLI) revokes through its own Store
    other = KeyRing(Store(store_url))
    revoked = other.revoke(record.key_id)
    assert revoked.revoked_at is not None and not revoked.active
    assert ring.authenticate(key) is None
    assert ring.active(record.key_id) is None
    assert other.revoke(record.key_id).revoked_at == revoked.revoked_at  # idempotent
    with pytest.raises(UnknownKey):
        other.revoke("ffffffffffff")


def test_list_shows_every_key_without_secrets(ring: KeyRing) -> None:
    a, _ = ring.create("viewer", "a")
    b, _ = ring.create("admin", "b")
    ring.revoke(a.key_id)
    listed = {k.key_id: k for k in ring.list()}
    assert set(listed) == {a.key_id, b.key_id}
    assert not listed[a.key_id].active and listed[b.key_id].active
    assert [k.key_id for k in ring.list(include_revoked=False)] == [b.key_id]


@pytest.mark.parametrize(("role", "name"), [("root", "x"), ("viewer", " "), ("admin", "n" * 201)])
def test_bad_roles_and_names_are_rejected(ring: KeyRing, role: str, name: str) -> None:
    with pytest.raises(PmoRiskError):
        ring.create(role, name)
    assert ring.list() == []


def test_scoped_keys_see_only_their_portfolios(ring: KeyRing) -> None:
    scoped, _ = ring.create("viewer", "s", ["P"])
    everything, _ = ring.create("viewer", "e")
    assert scoped.sees("P") and not scoped.sees("Q") and not scoped.sees(None)
    assert everything.sees("Q") and everything.sees(None) and everything.scope is None
