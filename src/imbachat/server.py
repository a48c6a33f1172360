"""Running the ASGI app under uvicorn."""

from __future__ import annotations

import logging

import uvicorn

from imbachat.app import create_app
from imbachat.config import Settings


def run_server(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        ws_per_message_deflate=False,
        server_header=False,
    )
