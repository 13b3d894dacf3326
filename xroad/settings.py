"""Typed, frozen settings for each process; read from the environment only at the edges."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from xroad.encryption import Suite
from xroad.messages.faults import FaultSpelling

# One database for a whole process, as the issue names it: `XROAD_DATABASE_URL`. Set it in each
# process's own environment (a systemd unit's EnvironmentFile), never machine-wide: a consumer
# and a provider security server must not share an audit log (a server refuses to start on
# another server's log). The component's own variable takes precedence over it.
DATABASE_URL_VARIABLE = "XROAD_DATABASE_URL"
_NODE_NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}"


class SecurityServerSettings(BaseSettings):
    """One security server (or one node of a cluster): its identity, its data directory and
    its two listeners.

    Nodes of one cluster share the server id, the token (or copies of it), serverconf.toml
    and the PostgreSQL database (audit log, replay cache); see docs/deployment.md."""

    model_config = SettingsConfigDict(env_prefix="XROAD_SS_", frozen=True, extra="forbid",
                                      populate_by_name=True)

    server_id: str
    data_dir: Path  # token/, serverconf.toml, globalconf cache, audit database
    # One database for the audit log and the replay cache (PostgreSQL for a cluster), unless
    # audit_database_url / replay_database_url name their own.
    database_url: str | None = Field(default=None, validation_alias=AliasChoices(
        "XROAD_SS_DATABASE_URL", DATABASE_URL_VARIABLE))
    # A cluster node's name: its node-local files (global configuration caches) go under
    # <data_dir>/nodes/<name>/ so that nodes may share one data directory; /health names it.
    node_name: str | None = Field(default=None, pattern=f"^{_NODE_NAME}$")
    anchor_path: Path
    token_pin: SecretStr
    client_host: str = "127.0.0.1"
    client_port: int = 8080
    server_host: str = "127.0.0.1"
    server_port: int = 5500
    globalconf_refresh_s: float = 60.0
    # How often the token is checked for a renewed signing key (`xroad keys import-cert`).
    signing_keys_reload_s: float = Field(default=10.0, gt=0)
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
    read_timeout_s: float = 30.0  # a silent sender of headers or body is disconnected
    max_body_bytes: int = 10 * 1024 * 1024  # X-Road: 10 MiB
    log_json: bool = True

    @model_validator(mode="after")
    def _nodes_share_a_database(self) -> SecurityServerSettings:
        """Cluster nodes on SQLite files would each keep their own log and replay cache (or
        race on one file): correctness needs the shared PostgreSQL database."""
        if self.node_name is not None:
            for what, url in (("audit log", self.audit_url()), ("replay cache", self.replay_url())):
                if url.startswith("sqlite"):
                    raise ValueError(
                        f"cluster node {self.node_name!r} keeps its {what} in SQLite; nodes "
                        f"share one PostgreSQL database: set {DATABASE_URL_VARIABLE}")
        return self

    def audit_url(self) -> str:
        return (self.audit_database_url or self.database_url
                or f"sqlite:///{self.data_dir / 'audit.db'}")

    def replay_url(self) -> str:
        return (self.replay_database_url or self.database_url
                or f"sqlite:///{self.data_dir / 'replay.db'}")

    def node_dir(self) -> Path:
        """Where this process keeps files no other node may write: the data directory itself
        for a single server, `nodes/<name>/` in it for a named cluster node."""
        if self.node_name is None:
            return self.data_dir
        return self.data_dir / "nodes" / self.node_name


class CentralServerSettings(BaseSettings):
    """The central server: registry database, configuration signing key, publishing rhythm."""

    model_config = SettingsConfigDict(env_prefix="XROAD_CS_", frozen=True, extra="forbid",
                                      populate_by_name=True)

    instance: str
    data_dir: Path
    token_pin: SecretStr
    host: str = "127.0.0.1"
    port: int = 4000
    database_url: str | None = Field(default=None, validation_alias=AliasChoices(
        "XROAD_CS_DATABASE_URL", DATABASE_URL_VARIABLE))
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
