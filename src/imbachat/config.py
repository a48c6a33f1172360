"""One Settings object, read from IMBACHAT_* environment variables."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./imbachat.db"


class Settings(BaseSettings):
    """Runtime configuration; every field has a default so nothing is required to start."""

    model_config = SettingsConfigDict(env_prefix="IMBACHAT_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 8000
    # Largest request body accepted; anything bigger is refused with 413 before parsing.
    max_body_bytes: int = 1024 * 1024
    # Seconds a verified v1 owner password stays cached, so argon2 is not paid per request.
    owner_auth_cache_seconds: float = 60.0
    # How long a call to a host site's Users info URL may take before it is given up.
    host_site_timeout_seconds: float = 3.0
    log_level: str = "info"
