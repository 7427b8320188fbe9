"""API keys: roles, optional portfolio scope, stored hashed in the store's database.

A key reads ``pmo_<key_id>_<secret>``: ``key_id`` (12 hex digits) finds the row, the secret
(32 random bytes, URL-safe base64) is checked against its scrypt hash (hashlib, salted) with
``hmac.compare_digest``. The plain key is returned once, by ``KeyRing.create``, and never
stored. Revocation sets ``revoked_at``; every authentication reads the row, so it takes effect
at once. A successful scrypt check is remembered in memory as a SHA-256 digest of the
presented key (so the slow hash runs once per key per process), but the row is still read
each time.

Roles are ordered ``viewer < analyst < admin``: a key may do what its role and every lower
role may do. A key with portfolios is limited to projects of those portfolios; an empty
scope means every portfolio.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, cast

import sqlalchemy as sa

from risk_model.exceptions import PmoRiskError

if TYPE_CHECKING:
    from risk_model.store import Store

__all__ = [
    "ROLES",
    "ApiKey",
    "KeyRing",
    "Role",
    "UnknownKey",
    "define_key_table",
    "role_allows",
]

Role = Literal["viewer", "analyst", "admin"]
#: Roles from least to most powerful.
ROLES: tuple[Role, ...] = ("viewer", "analyst", "admin")

_PREFIX = "pmo"
_KEY_RE = re.compile(r"^pmo_([0-9a-f]{12})_([A-Za-z0-9_\-]{20,100})$")
# scrypt cost: ~30 ms and 16 MiB per check; run once per key per process (see module doc).
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


class UnknownKey(PmoRiskError):
    """No such key id (``keys revoke`` of a typo)."""


def role_allows(role: str, needed: str) -> bool:
    """Whether ``role`` includes ``needed`` (viewer < analyst < admin)."""
    if role not in ROLES or needed not in ROLES:
        return False
    return ROLES.index(cast(Role, role)) >= ROLES.index(cast(Role, needed))


@dataclass(frozen=True)
class ApiKey:
    """A stored key's public record (never the secret)."""

    key_id: str
    name: str
    role: Role
    portfolios: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @property
    def scope(self) -> frozenset[str] | None:
        """The portfolios this key may see; ``None`` for every portfolio."""
        return frozenset(self.portfolios) if self.portfolios else None

    def allows(self, needed: str) -> bool:
        return role_allows(self.role, needed)

    def sees(self, portfolio: str | None) -> bool:
        """Whether a project of ``portfolio`` is visible (unscoped keys see everything)."""
        return not self.portfolios or (portfolio is not None and portfolio in self.portfolios)


def define_key_table(md: sa.MetaData) -> sa.Table:
    """The ``api_keys`` table on a store's metadata (created by ``Store.init``)."""
    return sa.Table(
        "api_keys",
        md,
        sa.Column("key_id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("portfolios", sa.Text(), nullable=False, default="[]"),
        sa.Column("salt", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
    )


def _utc(value: datetime | None) -> datetime | None:
    """A stored (naive UTC) time as an aware UTC datetime."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _scrypt(secret: str, salt: str) -> str:
    return hashlib.scrypt(secret.encode(), salt=bytes.fromhex(salt), **_SCRYPT).hex()


def _digest(presented: str) -> bytes:
    return hashlib.sha256(presented.encode()).digest()


def parse_key(presented: str) -> tuple[str, str] | None:
    """``(key_id, secret)`` of a well-formed key, else None."""
    m = _KEY_RE.match(presented.strip())
    return (m.group(1), m.group(2)) if m else None


class KeyRing:
    """Create, list, revoke and check API keys in a ``Store``'s database."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._table: sa.Table = store.api_keys
        self._verified: dict[str, tuple[str, bytes]] = {}  # key_id -> (stored hash, digest)
        # key_id -> (the stored columns ``_current`` reads, the record) of a verified key
        self._known: dict[str, tuple[tuple[Any, ...], ApiKey]] = {}
        self._lock = threading.Lock()
        self._current_sql: str | None = None

    @staticmethod
    def _record(row: Any) -> ApiKey:
        return ApiKey(
            key_id=row.key_id,
            name=row.name,
            role=cast(Role, row.role),
            portfolios=tuple(json.loads(row.portfolios or "[]")),
            created_at=cast(datetime, _utc(row.created_at)),
            revoked_at=_utc(row.revoked_at),
        )

    def create(
        self, role: str, name: str, portfolios: tuple[str, ...] | list[str] = ()
    ) -> tuple[ApiKey, str]:
        """A new key: its record and the plain key (shown once, never stored)."""
        if role not in ROLES:
            raise PmoRiskError(f"role must be one of {', '.join(ROLES)}; got {role!r}")
        name = name.strip()
        if not name or len(name) > 200:
            raise PmoRiskError("a key needs a name of 1 to 200 characters")
        scope = tuple(sorted({p.strip() for p in portfolios if p.strip()}))
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        salt = secrets.token_hex(16)
        now = datetime.now(UTC).replace(tzinfo=None)
        with self._store.engine.begin() as conn:
            conn.execute(
                sa.insert(self._table).values(
                    key_id=key_id,
                    name=name,
                    role=role,
                    portfolios=json.dumps(list(scope)),
                    salt=salt,
                    hash=_scrypt(secret, salt),
                    created_at=now,
                )
            )
        record = ApiKey(key_id, name, cast(Role, role), scope, now.replace(tzinfo=UTC))
        return record, f"{_PREFIX}_{key_id}_{secret}"

    def list(self, *, include_revoked: bool = True) -> list[ApiKey]:
        """Every key (oldest first), without secrets."""
        t = self._table
        query = sa.select(t).order_by(t.c.created_at, t.c.key_id)
        if not include_revoked:
            query = query.where(t.c.revoked_at.is_(None))
        with self._store.engine.connect() as conn:
            return [self._record(r) for r in conn.execute(query)]

    def get(self, key_id: str) -> ApiKey | None:
        with self._store.engine.connect() as conn:
            row = conn.execute(sa.select(self._table).where(self._table.c.key_id == key_id)).first()
        return None if row is None else self._record(row)

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key at once (idempotent); ``UnknownKey`` when there is no such key."""
        t = self._table
        now = datetime.now(UTC).replace(tzinfo=None)
        with self._store.engine.begin() as conn:
            conn.execute(
                sa.update(t)
                .where(t.c.key_id == key_id, t.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            row = conn.execute(sa.select(t).where(t.c.key_id == key_id)).first()
        with self._lock:
            self._verified.pop(key_id, None)
            self._known.pop(key_id, None)
        if row is None:
            raise UnknownKey(f"no API key with id {key_id!r}")
        return self._record(row)

    _CURRENT = ("hash", "role", "portfolios", "name")
    """The columns whose stored values a verified key's cached record stands for."""

    def _current(self, key_id: str) -> tuple[Any, ...] | None:
        """``_CURRENT`` of the key ``key_id`` when it exists and is not revoked, else None.

        One read by primary key on a pooled driver connection with a statement written
        once (no SQL compilation per request); it sees every committed revocation.
        """
        sql = self._current_sql
        engine = self._store.engine
        if sql is None:
            dialect = engine.dialect
            quote = dialect.identifier_preparer.quote
            mark = {"qmark": "?", "numeric": ":1", "named": ":key_id"}.get(dialect.paramstyle, "%s")
            sql = self._current_sql = (
                f"SELECT {', '.join(quote(c) for c in self._CURRENT)} "
                f"FROM {dialect.identifier_preparer.format_table(self._table)} "
                f"WHERE {quote('key_id')} = {mark} AND {quote('revoked_at')} IS NULL"
            )
        params: Any = {"key_id": key_id} if engine.dialect.paramstyle == "named" else (key_id,)
        conn = engine.raw_connection()
        try:
            cursor = conn.cursor()
            try:
                cursor.execute(sql, params)
                row = cursor.fetchone()
            finally:
                cursor.close()
        finally:
            conn.close()  # back to the pool (which ends any transaction the read began)
        return None if row is None else tuple(row)

    def authenticate(self, presented: str | None) -> ApiKey | None:
        """The active key matching ``presented``, else None (malformed, unknown, revoked)."""
        if not presented:
            return None
        parsed = parse_key(presented)
        if parsed is None:
            return None
        key_id, secret = parsed
        with self._lock:
            known = self._known.get(key_id)
            seen = self._verified.get(key_id)
        if known is not None and seen is not None:
            # verified in this process before: one read says it is still active and unchanged
            current = self._current(key_id)
            if current is None:
                return None
            if current == known[0] and hmac.compare_digest(seen[1], _digest(presented.strip())):
                return known[1]
        with self._store.engine.connect() as conn:
            row = conn.execute(sa.select(self._table).where(self._table.c.key_id == key_id)).first()
        if row is None or row.revoked_at is not None:
            return None
        digest = _digest(presented.strip())
        with self._lock:
            seen = self._verified.get(key_id)
        if seen is not None and seen[0] == row.hash:
            ok = hmac.compare_digest(seen[1], digest)
        else:
            ok = hmac.compare_digest(_scrypt(secret, row.salt), row.hash)
            if ok:
                with self._lock:
                    self._verified[key_id] = (row.hash, digest)
        if not ok:
            return None
        record = self._record(row)
        with self._lock:
            self._known[key_id] = (tuple(getattr(row, c) for c in self._CURRENT), record)
        return record

    def verified_before(self, presented: str) -> bool:
        """Whether this process has verified exactly this key already: ``authenticate`` then
        checks revocation with one read and compares digests, without scrypt."""
        parsed = parse_key(presented)
        if parsed is None:
            return False
        with self._lock:
            seen = self._verified.get(parsed[0])
        return seen is not None and hmac.compare_digest(seen[1], _digest(presented.strip()))

    def active(self, key_id: str) -> ApiKey | None:
        """The key with this id when it exists and is not revoked (for signed sessions)."""
        record = self.get(key_id)
        return record if record is not None and record.active else None
