"""The champion models the service is using."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ModelsDep
from api.schemas import ModelsOut
from api.services import models_out

router = APIRouter(prefix="/v1", tags=["models"])


@router.get("/models", summary="The loaded champion model of each target")
def list_models(models: ModelsDep) -> ModelsOut:
    return models_out(models)
