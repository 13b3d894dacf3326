"""What both roles of one security server share: identity, configuration, keys, audit log."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import structlog

from audit.record import AuditRecord
from xroad.clock import Clock
from xroad.encryption import KeyPair
from xroad.errors import InternalError, XRoadError
from xroad.globalconf.model import GlobalConf, GlobalConfSource
from xroad.identifiers import ClientId, SecurityServerId
from xroad.limits import Limits
from xroad.messages.faults import Fault, FaultSpelling, Origin, to_fault
from xroad.proxy.ocsp_source import OcspSource
from xroad.proxy.serverconf_file import ServerConfSource
from xroad.replay import ReplayGuard
from xroad.signing.message import RememberingOcspRequired
from xroad.signing.signer import Signer

log = structlog.get_logger(__name__)

PROXY_VERSION = "xroad-bus/1"
INNER_CONTENT_TYPE = "X-Road-Encrypted-Content-Type"
FAULT_CONTENT_TYPE = "application/x-road-fault+json"


class AsyncAuditLog(Protocol):
    async def append(self, record: AuditRecord) -> int: ...


@dataclass(frozen=True)
class SecurityServer:
    server_id: SecurityServerId
    globalconf: GlobalConfSource
    serverconf: ServerConfSource  # re-read when the file changes
    signers: Mapping[ClientId, Signer]  # member -> its signing key on this server
    audit: AsyncAuditLog
    clock: Clock
    limits: Limits
    fault_spelling: FaultSpelling
    replay: ReplayGuard
    ocsp: OcspSource  # evidence that our signing certificates are good
    encryption_keys: Mapping[bytes, KeyPair]  # key id -> this server's key pair, per suite
    max_clock_skew: timedelta = timedelta(seconds=300)
    # Raises TimestampingFailed while the audit log cannot be time-stamped past tolerance.
    audit_ready: Callable[[], None] = field(default=lambda: None)
    accepted_ocsp: dict[tuple[object, bytes, bytes, bytes], datetime] = field(
        default_factory=dict)

    def signer_for(self, member: ClientId) -> Signer:
        try:
            return self.signers[member.member]
        except KeyError as e:
            raise InternalError(f"no signing key for member {member.member} on this server") from e

    def revocation(self, conf: GlobalConf) -> RememberingOcspRequired:
        return RememberingOcspRequired(conf.approved_cas, conf.ocsp_freshness_s, conf.version,
                                       self.accepted_ocsp)

    async def remember(self, client: ClientId, message_id: str, at: datetime) -> None:
        """Refuse a message id this client already used (`ReplayedMessage`)."""
        await self.replay.remember(str(client), message_id, at)

    async def record(self, record: AuditRecord) -> int:
        """Append durably (group commit) before going on; raises `LoggingFailed` on failure."""
        return await self.audit.append(record)


def encryption_context(direction: str, request_id: str, sender: SecurityServerId,
                       receiver: SecurityServerId) -> bytes:
    """Binds an encrypted message to one exchange and one pair of servers."""
    return f"xroad-bus/1\n{direction}\n{request_id}\n{sender}\n{receiver}".encode()


def logged_fault(error: Exception, origin: Origin, spelling: FaultSpelling) -> Fault:
    """The wire fault for `error`, logged with a fresh fault id; bugs never show a traceback."""
    fault_id = str(uuid.uuid4())
    if isinstance(error, XRoadError):
        fault = to_fault(error, origin, spelling, fault_id)
        log.warning("fault", code=fault.code, fault_id=fault_id, reason=fault.message)
    else:
        fault = to_fault(InternalError("internal error"), origin, spelling, fault_id)
        log.error("fault", code=fault.code, fault_id=fault_id, exc_info=error)
    return fault
