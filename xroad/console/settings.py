"""The web console's settings: typed, frozen, read from XROAD_CONSOLE_* only at the edge.

The console holds no registry data: it needs where the central server and the security
servers' admin listeners are, and where their API keys lie (read by this process, never
sent to a browser). Its own state is console accounts and sessions (`console.db`).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServerLinkSettings(BaseModel):
    """One security server's admin listener and the directory holding its API key files
    (`admin-api-key`, `observer-api-key`, `auditor-api-key`, `data-access-api-key`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    admin_url: str
    key_dir: Path


class ConsoleSettings(BaseSettings):
    """`servers` is a JSON list in XROAD_CONSOLE_SERVERS (the demo passes its servers)."""

    model_config = SettingsConfigDict(env_prefix="XROAD_CONSOLE_", frozen=True, extra="forbid")

    data_dir: Path  # console.db (accounts, sessions) unless database_url is set
    central_url: str
    central_key_dir: Path  # admin-api-key, officer-api-key, auditor-api-key
    servers: tuple[ServerLinkSettings, ...] = ()
    host: str = "127.0.0.1"
    port: int = 4400
    database_url: str | None = None
    # Secure cookies need HTTPS; only a plain-http loopback demo turns this off.
    cookie_secure: bool = True
    session_ttl_s: int = Field(default=8 * 3600, ge=60)
    # Failed sign-ins allowed per user name and per client address in the window.
    sign_in_max_failures: int = Field(default=5, ge=1)
    sign_in_window_s: int = Field(default=300, ge=1)
    api_timeout_s: float = 15.0  # calls to the central server and the security servers
    cert_warning_days: int = 30  # certificates expiring sooner are flagged
    log_json: bool = True

    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'console.db'}"
