"""The stored portfolio ranked by risk."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.auth import ViewerKey
from api.deps import ModelsDep, PortfolioCacheDep, SettingsDep, StoreDep
from api.errors import responses
from api.schemas import PortfolioRisksOut, Target
from api.services import RankArgs, check_page_size, portfolio_risks, stored_ranking

router = APIRouter(prefix="/v1/portfolio", tags=["portfolio"])


@router.get(
    "/risks",
    response_model=PortfolioRisksOut,
    summary="Active projects ranked by the probability of overrun",
    description=(
        "Every active project of the store scored at its latest report, ranked by the chosen "
        "target's probability (unscorable projects last), with both targets' probabilities, "
        "bands and top drivers, read from the stored scores (computed at import, retrain and "
        "model swap, each with the model version that made it)."
    ),
    responses=responses(422, 503),
)
def risks(
    key: ViewerKey,
    store: StoreDep,
    models: ModelsDep,
    settings: SettingsDep,
    cache: PortfolioCacheDep,
    target: Annotated[Target, Query(description="Rank by this target.")] = "schedule",
    limit: Annotated[int, Query(ge=1, le=1000, description="At most this many projects.")] = 50,
    portfolio: Annotated[str | None, Query(max_length=500)] = None,
    category: Annotated[str | None, Query(max_length=500)] = None,
    band: Annotated[
        str | None, Query(max_length=50, description="Only this band of the target.")
    ] = None,
) -> Response:
    check_page_size(limit, settings)
    args = RankArgs(
        target=target,
        limit=limit,
        portfolio=portfolio,
        category=category,
        band=band,
        scope=key.scope,
    )
    stored = stored_ranking(store, models, settings, **args)
    if stored is None:  # the stored scores are older than the data: rescored through the cache
        stored = portfolio_risks(cache.get(store, models, settings), settings, **args)
    # serialised once by pydantic (returning the model, FastAPI would dump it, validate the
    # dump again and encode it: 5-15 ms for a page of 50 projects with their drivers)
    return Response(stored.model_dump_json(), media_type="application/json")
