"""Who may use the central server's admin API: API keys (kept hashed) and roles.

Least privilege, as X-Road's central server has it: administrators change the registry and
manage keys; registration officers decide registration requests and read; auditors only
read, including the admin audit trail. A caller presents `Authorization: X-Road-ApiKey
token=...` or `Authorization: Bearer ...`; every `Authenticator` is asked in turn, so an OIDC
verifier of bearer JWTs can be added beside the API-key store without touching the routes.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, Literal, Protocol

import structlog
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from xroad.central.errors import NotFound
from xroad.central.models import AdminApiKey
from xroad.central.roles import Role
from xroad.clock import Clock
from xroad.errors import BadRequest

log = structlog.get_logger(__name__)

_MAX_NAME: Final = 255
_KEY_ID_BYTES: Final = 4  # 8 hex digits: shown in logs and the audit trail, never the secret


# Who may call what.
READERS: Final = frozenset(Role)
ADMINISTRATORS: Final = frozenset({Role.ADMINISTRATOR})
DECIDERS: Final = frozenset({Role.ADMINISTRATOR, Role.REGISTRATION_OFFICER})
AUDIT_READERS: Final = frozenset({Role.ADMINISTRATOR, Role.AUDITOR})


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: `id` is `key:<key id>` for an API key (an OIDC verifier would
    use its issuer's subject), `name` whom it was issued to."""

    id: str
    name: str
    role: Role

    @property
    def label(self) -> str:
        """How decisions and the audit trail name the caller."""
        return f"{self.name} ({self.id})"


@dataclass(frozen=True, slots=True)
class Credentials:
    scheme: Literal["api-key", "bearer"]
    token: str


class Authenticator(Protocol):
    def authenticate(self, credentials: Credentials) -> Principal | None:
        """The caller these credentials prove, or None if they prove nothing to us."""


def parse_authorization(header: str | None) -> Credentials | None:
    """`X-Road-ApiKey token=...` (as X-Road's admin APIs) or `Bearer ...` (RFC 6750)."""
    if not header:
        return None
    scheme, _, rest = header.strip().partition(" ")
    rest = rest.strip()
    if scheme == "X-Road-ApiKey" and rest.startswith("token=") and len(rest) > len("token="):
        return Credentials("api-key", rest.removeprefix("token="))
    if scheme.lower() == "bearer" and rest:
        return Credentials("bearer", rest)
    return None


@dataclass(frozen=True, slots=True)
class IssuedKey:
    key_id: str
    role: Role
    name: str
    token: str  # shown once; only its hash is stored


@dataclass(frozen=True, slots=True)
class KeyInfo:
    key_id: str
    role: Role
    name: str
    created_at: datetime
    revoked_at: datetime | None


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def _info(row: AdminApiKey) -> KeyInfo:
    """Times are stored as naive UTC."""
    return KeyInfo(row.key_id, Role(row.role), row.name, row.created_at.replace(tzinfo=UTC),
                   None if row.revoked_at is None else row.revoked_at.replace(tzinfo=UTC))


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > _MAX_NAME or not name.isprintable():
        raise BadRequest(f"a key's name is 1 to {_MAX_NAME} printable characters")
    return name


@dataclass(frozen=True)
class ApiKeyStore:
    """Admin API keys in the central database (`admin_api_key`): a token is
    `<key id>.<secret>`; only the SHA-256 of the secret is kept (the secret is 256 random bits,
    so a fast hash suffices), compared in constant time."""

    engine: Engine
    clock: Clock

    def create(self, role: Role, name: str, session: Session | None = None) -> IssuedKey:
        """A new key (in `session`, to commit with an audit entry, if given)."""
        if session is None:
            with Session(self.engine) as s, s.begin():
                return self.create(role, name, s)
        name = _check_name(name)
        key_id = secrets.token_hex(_KEY_ID_BYTES)
        while session.scalars(select(AdminApiKey.id).where(
                AdminApiKey.key_id == key_id)).first() is not None:
            key_id = secrets.token_hex(_KEY_ID_BYTES)  # rare: another key has this id
        secret = secrets.token_urlsafe(32)
        session.add(AdminApiKey(key_id=key_id, secret_sha256=_digest(secret), role=str(role),
                                name=name, created_at=self.clock.now().replace(tzinfo=None)))
        session.flush()
        log.info("admin_api_key.created", key_id=key_id, role=str(role), key_name=name)
        return IssuedKey(key_id, role, name, f"{key_id}.{secret}")

    def authenticate(self, credentials: Credentials) -> Principal | None:
        key_id, dot, secret = credentials.token.partition(".")
        if not dot or not secret or len(key_id) != 2 * _KEY_ID_BYTES:
            return None
        with Session(self.engine) as s:
            row = s.scalars(select(AdminApiKey).where(AdminApiKey.key_id == key_id)).first()
            if row is None or row.revoked_at is not None:
                return None
            if not hmac.compare_digest(row.secret_sha256, _digest(secret)):
                return None
            try:
                role = Role(row.role)
            except ValueError:
                return None
            return Principal(f"key:{row.key_id}", row.name, role)

    def list(self) -> list[KeyInfo]:
        with Session(self.engine) as s:
            return [_info(r) for r in s.scalars(select(AdminApiKey).order_by(AdminApiKey.id))]

    def revoke(self, key_id: str, session: Session | None = None) -> KeyInfo:
        """Revoke at once (in `session`, to commit with an audit entry, if given)."""
        if session is None:
            with Session(self.engine) as s, s.begin():
                return self.revoke(key_id, s)
        row = session.scalars(select(AdminApiKey).where(AdminApiKey.key_id == key_id)).first()
        if row is None:
            raise NotFound(f"no API key {key_id}")
        if row.revoked_at is None:
            row.revoked_at = self.clock.now().replace(tzinfo=None)
            log.info("admin_api_key.revoked", key_id=key_id)
        return _info(row)


def write_key_file(path: Path, token: str) -> None:
    """Write `token` to `path` readable by the owner only (created so: never world-readable,
    not even for a moment)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(token + "\n")
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def ensure_key_file(store: ApiKeyStore, path: Path, role: Role, name: str) -> bool:
    """Keep the key in `path` if it still works for `role`; otherwise issue a new one there.
    True if a key was issued (demo bootstrap, first administrator key)."""
    if path.exists():
        token = path.read_text(encoding="utf-8").strip()
        found = store.authenticate(Credentials("api-key", token))
        if found is not None and found.role is role:
            return False
    write_key_file(path, store.create(role, name).token)
    return True
