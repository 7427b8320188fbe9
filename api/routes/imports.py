"""Import portfolio history files into the store."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile

from api.auth import AnalystKey
from api.deps import ModelsDep, SettingsDep, StoreDep
from api.errors import responses
from api.schemas import ImportOut
from api.services import Upload, import_uploads, rescore_after_import

router = APIRouter(prefix="/v1", tags=["imports"])


@router.post(
    "/imports",
    summary="Import projects and/or snapshots files (CSV or XLSX)",
    description=(
        "Same validation as `pmo-risk import`: every problem is listed with its file, row "
        "(as the spreadsheet shows it) and column, and nothing is changed. A good import is "
        "applied in one transaction (upsert) and returns the summary and the new store "
        "revision. With `dry_run` the files are only validated. The stored scores of the "
        "portfolio are recomputed before the answer (when the models are loaded)."
    ),
    responses=responses(403, 413, 422),
)
def create_import(
    key: AnalystKey,
    store: StoreDep,
    models: ModelsDep,
    settings: SettingsDep,
    projects: Annotated[UploadFile | None, File(description="projects.csv / .xlsx")] = None,
    snapshots: Annotated[UploadFile | None, File(description="snapshots.csv / .xlsx")] = None,
    dry_run: Annotated[bool, Form(description="Validate only; change nothing.")] = False,
) -> ImportOut:
    uploads = [
        Upload(field, up.filename or "", up.file)
        for field, up in (("projects", projects), ("snapshots", snapshots))
        if up is not None
    ]
    out = import_uploads(
        store, uploads, dry_run=dry_run, scope=key.scope, max_bytes=settings.max_upload_bytes
    )
    rescore_after_import(store, models, settings, out)
    return out
