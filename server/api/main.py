"""All routes of the protocol, under /v1."""

from __future__ import annotations

from fastapi import APIRouter

from server.api.routes import (
    auth,
    devices,
    documents,
    duplicates,
    governance,
    history,
    refs,
    sync,
)

api_router = APIRouter(prefix="/v1")
api_router.include_router(auth.router)
api_router.include_router(devices.router)
api_router.include_router(sync.router)
api_router.include_router(refs.router)
api_router.include_router(documents.router)
api_router.include_router(history.router)
api_router.include_router(governance.router)
api_router.include_router(duplicates.router)
