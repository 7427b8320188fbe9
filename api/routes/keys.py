"""API keys, managed over HTTP by admins (the CLI's ``pmo-risk keys`` does the same)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, status

from api.auth import AdminKey, get_keyring
from api.errors import responses
from api.schemas import KeyCreatedOut, KeyIn, KeyOut, KeysOut
from risk_model.keys import ApiKey

router = APIRouter(prefix="/v1/keys", tags=["keys"])


def _out(key: ApiKey) -> KeyOut:
    return KeyOut(
        key_id=key.key_id,
        name=key.name,
        role=key.role,
        portfolios=list(key.portfolios),
        created_at=key.created_at,
        revoked_at=key.revoked_at,
    )


@router.get("", summary="Every API key (never the secrets)")
def list_keys(request: Request, _: AdminKey) -> KeysOut:
    return KeysOut(keys=[_out(k) for k in get_keyring(request).list()])


@router.post(
    "",
    summary="Create a key; the key itself is in the response, once",
    status_code=status.HTTP_201_CREATED,
    responses=responses(422),
)
def create_key(request: Request, body: KeyIn, _: AdminKey) -> KeyCreatedOut:
    record, plain = get_keyring(request).create(body.role, body.name, body.portfolios)
    return KeyCreatedOut(**_out(record).model_dump(), key=plain)


@router.delete(
    "/{key_id}",
    summary="Revoke a key at once (idempotent)",
    responses={404: {"description": "No such key"}},
)
def revoke_key(
    request: Request,
    key_id: Annotated[str, Path(min_length=1, max_length=32)],
    _: AdminKey,
) -> KeyOut:
    return _out(get_keyring(request).revoke(key_id))
