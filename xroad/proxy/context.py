"""What both roles of one security server share: identity, configuration, keys, audit log."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import structlog

from audit.bodies import BodyVault
from audit.record import AuditEntry, AuditRecord
from audit.subjects import SubjectIndex
from xroad.clock import Clock
from xroad.encryption import KeyPair
from xroad.errors import InternalError, XRoadError
from xroad.globalconf.model import FederationSource, GlobalConf, GlobalConfSource, Standalone
from xroad.identifiers import ClientId, SecurityServerId
from xroad.limits import Limits
from xroad.messages.faults import Fault, FaultSpelling, Origin, to_fault
from xroad.messages.multipart import Part
from xroad.proxy.monitoring import ExchangeRole, Monitor
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
    async def append(self, entry: AuditEntry) -> int: ...


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
    monitor: Monitor | None = None  # operational metrics (Prometheus), when exposed
    subjects: SubjectIndex | None = None  # finds whom a request is about (citizen view)
    bodies: BodyVault | None = None  # seals bodies for subsystems that keep them
    # Configurations of federated instances (ADR 0008); None: this instance's alone.
    federation: FederationSource | None = None
    node: str | None = None  # this process's name in a cluster of nodes of one server

    @property
    def confs(self) -> FederationSource:
        """The configuration of any instance this server trusts, its own included."""
        return self.federation if self.federation is not None else Standalone(self.globalconf)

    def signer_for(self, member: ClientId) -> Signer:
        try:
            return self.signers[member.member]
        except KeyError as e:
            raise InternalError(f"no signing key for member {member.member} on this server") from e

    def revocation(self, conf: GlobalConf) -> RememberingOcspRequired:
        """OCSP checks by the rules of `conf`: the configuration of the signer's instance."""
        return RememberingOcspRequired(conf.approved_cas, conf.ocsp_freshness_s,
                                       (conf.instance, conf.version), self.accepted_ocsp)

    async def remember(self, client: ClientId, message_id: str, at: datetime) -> None:
        """Refuse a message id this client already used (`ReplayedMessage`)."""
        await self.replay.remember(str(client), message_id, at)

    def subjects_of(self, message: bytes) -> tuple[str, ...]:
        """Keyed hashes of the persons a request names (none when the index is off)."""
        return () if self.subjects is None else self.subjects.find(message)

    async def record(self, record: AuditRecord, *, role: ExchangeRole,
                     signature: bytes | None = None, parts: Sequence[Part] = (),
                     keeper: ClientId | None = None) -> int:
        """Append durably (group commit) before going on; raises `LoggingFailed` on failure.

        `signature` is the exact signature part, kept as evidence; `parts` are the message's
        parts, sealed and kept only when `keeper` (the hosted subsystem this server acts for)
        is configured to keep bodies. `role` is this server's side of the exchange, a label of
        the operational metrics."""
        body = None
        if (parts and keeper is not None and self.bodies is not None
                and record.message_digest is not None
                and keeper in self.serverconf.current().audit_bodies):
            body = self.bodies.seal(str(keeper.member), parts, record.message_digest)
        entry = AuditEntry(record, signature, body)
        if self.monitor is None:
            return await self.audit.append(entry)
        try:
            index = await self.audit.append(entry)
        except Exception:
            self.monitor.audit_write_failed()
            raise
        self.monitor.observe(record, role)
        return index

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
