"""The champion models the service is using, their model cards, and the admin reload."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from api.auth import AdminKey, ViewerKey
from api.deps import ModelManagerDep, ModelsDep, RegistryDep
from api.model_manager import describe
from api.schemas import ModelCardOut, ModelsOut, ReloadOut, Target
from api.services import model_card_out, models_out

router = APIRouter(prefix="/v1", tags=["models"])


@router.get("/models", summary="The loaded champion model of each target")
def list_models(_: ViewerKey, manager: ModelManagerDep, registry: RegistryDep) -> ModelsOut:
    return models_out(manager.state, registry, describe(manager.status()))


@router.get(
    "/models/{target}/card",
    summary="The model card of a target's loaded model, with its latest drift flags",
    responses={503: {"description": "No model (or no card) for the target."}},
)
def model_card(
    target: Target, _: ViewerKey, models: ModelsDep, registry: RegistryDep
) -> ModelCardOut:
    return model_card_out(models, registry, target)


@router.post(
    "/models/reload",
    summary="Load the registry's champions now (validated, swapped without dropping requests)",
    description=(
        "Checks the `champion` alias of each target; a version that moved is loaded and "
        "validated (its input columns, a fixed probe batch scoring finite probabilities) off "
        "the request path of every other call, then swapped in at once; stored scores are "
        "then recomputed in the background. When anything is refused (409) or the registry "
        "cannot be read, the models in use keep serving and `errors` says why."
    ),
    responses={409: {"model": ReloadOut, "description": "A new version was refused."}},
)
def reload_models(_: AdminKey, manager: ModelManagerDep, response: Response) -> ReloadOut:
    result = manager.check()
    if result.errors:  # counted in /metrics by the manager's on_failure hook
        response.status_code = status.HTTP_409_CONFLICT
    return ReloadOut(
        swapped=result.swapped,
        errors=result.errors,
        models=models_out(manager.state, None, describe(manager.status())),
    )
