"""Typed, frozen settings for each process; read from the environment only at the edges."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from xroad.encryption import Suite
from xroad.messages.faults import FaultSpelling


class SecurityServerSettings(BaseSettings):
    """One security server: its identity, its data directory and its two listeners."""

    model_config = SettingsConfigDict(env_prefix="XROAD_SS_", frozen=True, extra="forbid")

    server_id: str
    data_dir: Path  # token/, serverconf.toml, globalconf cache, audit database
    anchor_path: Path
    token_pin: SecretStr
    client_host: str = "127.0.0.1"
    client_port: int = 8080
    server_host: str = "127.0.0.1"
    server_port: int = 5500
    globalconf_refresh_s: float = 60.0
    fault_spelling: FaultSpelling = FaultSpelling.CLASSIC
    audit_database_url: str | None = None  # default: SQLite file in data_dir
    replay_database_url: str | None = None  # default: SQLite file in data_dir
    max_clock_skew_s: int = 300
    audit_checkpoint_s: float = 60.0  # how often the audit log's checkpoint is signed
    timestamp_tolerance_s: int = 14_400  # X-Road acceptable-timestamp-failure-period (4 h)
    # Records older than this move to chained archive bundles (checked daily); None: keep all.
    audit_retention_days: int | None = None
    audit_archive_dir: Path | None = None  # default: <data_dir>/archive
    # Admin API (access rights); off unless a key is set. Keys are compared by SHA-256.
    admin_host: str = "127.0.0.1"
    admin_port: int | None = None
    admin_api_key: SecretStr | None = None  # service administrator: read and change
    observer_api_key: SecretStr | None = None  # read only
    auditor_api_key: SecretStr | None = None  # reads the audit log (records, proofs, export)
    data_access_api_key: SecretStr | None = None  # only the citizen data-access view (portal)
    # Whom a request is about (citizen view): a regular expression; Mongolian register numbers.
    audit_subject_pattern: str = r"[А-ЯЁӨҮ]{2}[0-9]{8}"
    # Members' signing keys in an HSM (PKCS#11); they take precedence over the software token.
    pkcs11_module: Path | None = None
    pkcs11_token_label: str | None = None
    pkcs11_pin: SecretStr | None = None
    service_timeout_s: float = 60.0
    max_body_bytes: int = 10 * 1024 * 1024  # X-Road: 10 MiB
    log_json: bool = True

    def audit_url(self) -> str:
        return self.audit_database_url or f"sqlite:///{self.data_dir / 'audit.db'}"

    def replay_url(self) -> str:
        return self.replay_database_url or f"sqlite:///{self.data_dir / 'replay.db'}"


class CentralServerSettings(BaseSettings):
    """The central server: registry database, configuration signing key, publishing rhythm."""

    model_config = SettingsConfigDict(env_prefix="XROAD_CS_", frozen=True, extra="forbid")

    instance: str
    data_dir: Path
    token_pin: SecretStr
    host: str = "127.0.0.1"
    port: int = 4000
    database_url: str | None = None
    conf_validity_s: int = 600
    conf_generation_s: float = 60.0
    encryption_suite: Suite = Suite.X25519_AES256GCM  # 2: ML-KEM-768 + X25519 hybrid
    ocsp_freshness_s: int = 3600  # oldest OCSP evidence security servers accept
    tsa_urls: tuple[str, ...] = ()  # approved time-stamping authorities, JSON list in env
    # Approve every registration request without an officer: test instances only.
    auto_approve: bool = False
    log_json: bool = True

    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'central.db'}"


class DevPkiSettings(BaseSettings):
    """The dev PKI's directory and PIN, for its OCSP responder and TSA (test environments)."""

    model_config = SettingsConfigDict(env_prefix="XROAD_PKI_", frozen=True, extra="forbid")

    dir: Path
    token_pin: SecretStr
