"""Typed dependencies: everything a route needs comes from ``app.state`` (set by the lifespan).

They are ``async def``: FastAPI runs them on the event loop, not in the thread pool (a thread
hop per dependency per request costs more than reading an attribute).
"""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from api.model_manager import ModelManager
from api.services import ModelState, PortfolioCache
from model_registry.registry import ModelRegistry
from risk_model.config import Settings
from risk_model.risk_register import RiskRegister
from risk_model.store import Store


async def get_settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


async def get_store(request: Request) -> Store:
    return cast(Store, request.app.state.store)


async def get_models(request: Request) -> ModelState:
    """The published models: the manager's current state (swapped atomically), else the
    state the app started with."""
    return models_of(request)


def models_of(request: Request) -> ModelState:
    """``get_models`` read directly (for a route that keeps its dependencies to the key)."""
    manager = getattr(request.app.state, "model_manager", None)
    if manager is not None:
        return cast(ModelState, manager.state)
    return cast(ModelState, request.app.state.models)


async def get_registry(request: Request) -> ModelRegistry:
    return cast(ModelRegistry, request.app.state.registry)


async def get_model_manager(request: Request) -> ModelManager:
    return cast(ModelManager, request.app.state.model_manager)


async def get_portfolio_cache(request: Request) -> PortfolioCache:
    return cast(PortfolioCache, request.app.state.portfolio_cache)


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[Store, Depends(get_store)]
ModelsDep = Annotated[ModelState, Depends(get_models)]
RegistryDep = Annotated[ModelRegistry, Depends(get_registry)]
PortfolioCacheDep = Annotated[PortfolioCache, Depends(get_portfolio_cache)]
ModelManagerDep = Annotated[ModelManager, Depends(get_model_manager)]


async def get_register(store: StoreDep) -> RiskRegister:
    """The store's risk register (issue 5)."""
    return RiskRegister(store)


RegisterDep = Annotated[RiskRegister, Depends(get_register)]
