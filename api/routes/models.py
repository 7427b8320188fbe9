"""The champion models the service is using, and their model cards."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ModelsDep, RegistryDep
from api.schemas import ModelCardOut, ModelsOut, Target
from api.services import model_card_out, models_out

router = APIRouter(prefix="/v1", tags=["models"])


@router.get("/models", summary="The loaded champion model of each target")
def list_models(models: ModelsDep, registry: RegistryDep) -> ModelsOut:
    return models_out(models, registry)


@router.get(
    "/models/{target}/card",
    summary="The model card of a target's loaded model, with its latest drift flags",
    responses={503: {"description": "No model (or no card) for the target."}},
)
def model_card(target: Target, models: ModelsDep, registry: RegistryDep) -> ModelCardOut:
    return model_card_out(models, registry, target)
