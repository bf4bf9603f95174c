"""Health and metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response

from crdtpad.deps import ServicesDep

router = APIRouter(tags=["system"])


@router.get("/healthz")
async def healthz(services: ServicesDep) -> dict[str, object]:
    """200 once the database is open and the rooms are serving."""
    return {
        "status": "ok",
        "rooms_loaded": services.rooms.loaded,
        "connections": len(services.sockets),
    }


@router.get("/metrics", response_class=Response)
async def metrics(services: ServicesDep) -> Response:
    """Prometheus exposition of every ``crdtpad_*`` series."""
    return Response(services.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
