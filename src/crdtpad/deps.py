"""FastAPI dependency aliases: handlers reach Services through these."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from crdtpad.services import Services


def get_services(request: Request) -> Services:
    """The app's Services, opened by the lifespan."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
