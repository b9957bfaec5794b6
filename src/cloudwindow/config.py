"""Settings from the environment (prefix ``CLOUDWINDOW_``), with embedded defaults.

With nothing set, the platform runs on one machine: a SQLite file under ``./var/``,
an in-process event bus, and files under ``./var/data``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob in one place; ``create_app`` receives an instance, never a global."""

    model_config = SettingsConfigDict(env_prefix="CLOUDWINDOW_", extra="ignore")

    database_url: str = Field(
        default="sqlite+aiosqlite:///./var/cloudwindow.db",
        description="SQLAlchemy async URL; postgresql+asyncpg://… for several nodes.",
    )
    redis_url: str | None = Field(
        default=None, description="Redis URL for cross-node events; unset = in-process bus."
    )
    data_dir: Path = Field(default=Path("./var/data"), description="Where files are stored.")
    static_dir: Path | None = Field(
        default=None, description="Built web assets; default: the package's static folder."
    )
    # Accounts
    session_ttl_seconds: int = 8 * 3600
    login_max_failures: int = 5
    login_failure_window_seconds: int = 15 * 60
    enrollment_code_ttl_seconds: int = 24 * 3600
    # Catalogue import limits
    import_max_bytes: int = 10 * 1024 * 1024
    import_max_rows: int = 20_000
    log_json: bool = True
    log_level: str = "INFO"
    node_name: str = "node-1"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def sync_database_url(self) -> str:
        """The same database through a synchronous driver (Alembic's offline tools)."""
        return self.database_url.replace("+aiosqlite", "").replace("+asyncpg", "+psycopg")
