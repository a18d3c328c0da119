"""The app `callscope serve` runs: the API plus the console's pages and static files.

The console wraps the API's factory instead of the API importing the console, so the arrow
stays `web -> api`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.app import create_app
from core.settings import Settings
from web import routes

STATIC_DIR = routes.WEB_DIR / "static"


def create_console_app(settings: Settings, **api_options: Any) -> FastAPI:
    """The API (`api.app.create_app` with `api_options`) with the console mounted on it."""
    app = create_app(settings, **api_options)
    mount_console(app)
    return app


def mount_console(app: FastAPI) -> None:
    """Add the console's page routes and `/static` to an API app."""
    app.include_router(routes.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
