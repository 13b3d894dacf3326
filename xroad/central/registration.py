"""The registration workflow: requests from both sides, matching, approval, and their effect.

A request from a security server's owner arrives signed (`xroad.central.requests`); the
central administration makes the same kinds of request itself. As in X-Road, a request from
one side waits for its complement from the other: when both exist they are matched and the
change is applied. A registration officer approving a server's request makes that complement;
rejecting closes it. Test instances can approve automatically, instance-wide or per member
class. Each step is one transaction: a refused request leaves nothing behind.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Final

import structlog
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, selectinload

from xroad.central.errors import Conflict, NotFound
from xroad.central.models import (
    AuthCert,
    EncryptionKey,
    Member,
    MemberClass,
    RegistrationRequest,
    RequestEvent,
    SecurityServer,
    ServerClient,
    Subsystem,
)
from xroad.central.requests import ManagementRequest, RequestKind, SignedRequest, verify_request
from xroad.clock import Clock
from xroad.errors import BadRequest, UnknownMember
from xroad.identifiers import ClientId, SecurityServerId

log = structlog.get_logger(__name__)

AUTO: Final = "auto-approval"

# Called inside a decision's transaction, so an audit entry commits with it or not at all.
AuditHook = Callable[[Session, "RequestView"], None]


class Origin(StrEnum):
    SECURITY_SERVER = "security-server"
    CENTER = "center"


class Status(StrEnum):
    SUBMITTED = "submitted"  # waiting for its complement or an officer
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True)
class RequestView:
    id: int
    kind: str
    origin: str
    server: str
    client: str | None
    address: str | None
    auth_cert_sha256: str | None
    status: str
    signer: str | None
    submitted_by: str
    comment: str
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    complement_id: int | None
    events: tuple[tuple[datetime, str, str, str], ...]  # (at, actor, action, comment)
    payload: bytes = field(default=b"", repr=False)  # the exact bytes the requester signed
    signed: bool = False  # a signature over `payload` came with it (verified on submission)


def _view(r: RegistrationRequest) -> RequestView:
    return RequestView(
        r.id, r.kind, r.origin, r.server, r.client, r.address,
        None if r.auth_cert is None else hashlib.sha256(r.auth_cert).hexdigest(), r.status,
        r.signer, r.submitted_by, r.comment, r.created_at, r.decided_at, r.decided_by,
        r.complement_id, tuple((e.at, e.actor, e.action, e.comment) for e in r.events),
        r.payload, r.signature is not None)


def _naive(at: datetime) -> datetime:
    return at.replace(tzinfo=None)


@dataclass
class Registrations:
    engine: Engine
    clock: Clock
    instance: str
    auto_approve: bool = False  # every request (test instances)

    # -- submitting ------------------------------------------------------------------------

    def submit_signed(self, signed: SignedRequest, approved_cas: Sequence[x509.Certificate],
                      ) -> RequestView:
        """A request from a security server's side, verified against the approved CAs."""
        verified = verify_request(signed, list(approved_cas), self.clock.now())
        return self._submit(verified.request, Origin.SECURITY_SERVER, "security-server",
                            signed=signed, signer=verified.signer)

    def submit_center(self, request: ManagementRequest, actor: str, *,
                      audit: AuditHook | None = None) -> RequestView:
        """The same change, asked for by the central administration."""
        return self._submit(request, Origin.CENTER, actor, audit=audit)

    def _submit(self, request: ManagementRequest, origin: Origin, actor: str, *,
                signed: SignedRequest | None = None, signer: ClientId | None = None,
                audit: AuditHook | None = None) -> RequestView:
        if request.server.owner.instance != self.instance:
            raise BadRequest(f"{request.server} is not of instance {self.instance}")
        now = _naive(self.clock.now())
        with Session(self.engine) as s, s.begin():
            self._check(s, request)
            self._check_not_waiting(s, request, origin)
            row = RegistrationRequest(
                kind=str(request.kind), origin=str(origin), server=str(request.server),
                client=None if request.client is None else str(request.client),
                address=request.address, auth_cert=None if request.auth_cert is None
                else request.auth_cert.public_bytes(serialization.Encoding.DER),
                status=str(Status.SUBMITTED), payload=request.payload(),
                signature=None if signed is None else signed.signature,
                proof_of_possession=None if signed is None else signed.proof_of_possession,
                signer=None if signer is None else str(signer), submitted_by=actor,
                created_at=now)
            row.events.append(RequestEvent(at=now, actor=actor, action="submitted"))
            s.add(row)
            s.flush()
            complement = self._complement(s, row, request)
            if complement is not None:
                self._match(s, row, complement, actor, now)
            elif self._auto(s, request):
                self._decide(s, row, AUTO, now, "approved automatically (instance policy)")
                self._apply(s, request)
            log.info("registration.submitted", id=row.id, kind=row.kind, origin=row.origin,
                     server=row.server, client=row.client, status=row.status)
            return self._done(s, row, audit)

    def _complement(self, s: Session, row: RegistrationRequest,
                    request: ManagementRequest) -> RegistrationRequest | None:
        other = Origin.CENTER if row.origin == Origin.SECURITY_SERVER else Origin.SECURITY_SERVER
        for candidate in s.scalars(select(RegistrationRequest).where(
                RegistrationRequest.status == str(Status.SUBMITTED),
                RegistrationRequest.origin == str(other),
                RegistrationRequest.kind == row.kind,
                RegistrationRequest.server == row.server)):
            if ManagementRequest.parse(candidate.payload).key() == request.key():
                return candidate
        return None

    def _match(self, s: Session, row: RegistrationRequest, complement: RegistrationRequest,
               actor: str, now: datetime) -> None:
        row.complement_id, complement.complement_id = complement.id, row.id
        for r in (row, complement):
            self._decide(s, r, actor, now, "matched by the complementary request")
        self._apply(s, ManagementRequest.parse(row.payload))

    @staticmethod
    def _check_not_waiting(s: Session, request: ManagementRequest, origin: Origin) -> None:
        """The same request from the same side, still waiting, is not made twice."""
        for waiting in s.scalars(select(RegistrationRequest).where(
                RegistrationRequest.status == str(Status.SUBMITTED),
                RegistrationRequest.origin == str(origin),
                RegistrationRequest.kind == str(request.kind),
                RegistrationRequest.server == str(request.server))):
            if ManagementRequest.parse(waiting.payload).key() == request.key():
                raise Conflict(f"the same request is waiting already (request {waiting.id})")

    def _auto(self, s: Session, request: ManagementRequest) -> bool:
        if self.auto_approve:
            return True
        classes = {request.server.owner.member_class}
        if request.client is not None:
            classes.add(request.client.member_class)
        flags = s.scalars(select(MemberClass.auto_approve).where(MemberClass.code.in_(classes)))
        found = list(flags)
        return bool(found) and len(found) == len(classes) and all(found)

    # -- deciding --------------------------------------------------------------------------

    def approve(self, request_id: int, actor: str, comment: str = "", *,
                audit: AuditHook | None = None) -> RequestView:
        """An officer approves a server's request: the centre's complement is made and the
        change applied (a centre request waits for the server's own)."""
        now = _naive(self.clock.now())
        with Session(self.engine) as s, s.begin():
            row = self._pending(s, request_id)
            if row.origin != Origin.SECURITY_SERVER:
                raise Conflict("a request of the central administration is completed by the "
                               "security server's own request, not by approval")
            request = ManagementRequest.parse(row.payload)
            self._check(s, request)
            complement = RegistrationRequest(
                kind=row.kind, origin=str(Origin.CENTER), server=row.server, client=row.client,
                address=row.address, auth_cert=row.auth_cert, status=str(Status.SUBMITTED),
                payload=row.payload, submitted_by=actor, comment=comment, created_at=now)
            complement.events.append(RequestEvent(at=now, actor=actor, action="submitted",
                                                  comment=comment))
            s.add(complement)
            s.flush()
            row.complement_id, complement.complement_id = complement.id, row.id
            for r in (row, complement):
                self._decide(s, r, actor, now, comment or "approved")
            self._apply(s, request)
            log.info("registration.approved", id=row.id, actor=actor)
            return self._done(s, row, audit)

    def reject(self, request_id: int, actor: str, comment: str, *,
               audit: AuditHook | None = None) -> RequestView:
        if not comment.strip():
            raise BadRequest("say why the request is rejected")
        now = _naive(self.clock.now())
        with Session(self.engine) as s, s.begin():
            row = self._pending(s, request_id)
            row.status, row.decided_at, row.decided_by = str(Status.REJECTED), now, actor
            row.comment = comment
            row.events.append(RequestEvent(at=now, actor=actor, action="rejected",
                                           comment=comment))
            log.info("registration.rejected", id=row.id, actor=actor)
            return self._done(s, row, audit)

    @staticmethod
    def _done(s: Session, row: RegistrationRequest, audit: AuditHook | None) -> RequestView:
        s.flush()
        view = _view(row)
        if audit is not None:
            audit(s, view)
        return view

    def _pending(self, s: Session, request_id: int) -> RegistrationRequest:
        row = s.get(RegistrationRequest, request_id)
        if row is None:
            raise NotFound(f"no registration request {request_id}")
        if row.status != Status.SUBMITTED:
            raise Conflict(f"request {request_id} is {row.status} already")
        return row

    @staticmethod
    def _decide(s: Session, row: RegistrationRequest, actor: str, now: datetime,
                comment: str) -> None:
        row.status, row.decided_at, row.decided_by = str(Status.APPROVED), now, actor
        row.events.append(RequestEvent(at=now, actor=actor, action="approved", comment=comment))

    # -- reading ---------------------------------------------------------------------------

    def list(self, status: str | None = None) -> list[RequestView]:
        query = (select(RegistrationRequest).options(selectinload(RegistrationRequest.events))
                 .order_by(RegistrationRequest.id))
        if status is not None:
            query = query.where(RegistrationRequest.status == status)
        with Session(self.engine) as s:
            return [_view(r) for r in s.scalars(query)]

    def get(self, request_id: int) -> RequestView:
        with Session(self.engine) as s:
            row = s.get(RegistrationRequest, request_id)
            if row is None:
                raise NotFound(f"no registration request {request_id}")
            return _view(row)

    # -- the registry ----------------------------------------------------------------------

    def _check(self, s: Session, request: ManagementRequest) -> None:
        """Refuse what the registry cannot take (before anything is written)."""
        owner = _member(s, request.server.owner)
        if owner is None:
            raise UnknownMember(f"{request.server.owner} is not a member of {self.instance}")
        server = _server(s, owner, request.server)
        if request.kind is not RequestKind.AUTH_CERT_REGISTRATION and server is None:
            raise UnknownMember(f"security server {request.server} is not registered")
        digest = request.auth_cert_sha256
        if digest is not None and s.scalars(select(AuthCert).where(
                AuthCert.sha256 == digest)).first() is not None:
            raise Conflict("that authentication certificate is registered already")
        if request.client is not None:
            member = _member(s, request.client.member)
            if member is None:
                raise UnknownMember(f"{request.client.member} is not a member of "
                                    f"{self.instance}")
            hosted = None if server is None else _hosted(server, request.client)
            if request.kind is RequestKind.CLIENT_REGISTRATION and hosted is not None:
                raise Conflict(f"{request.client} is a client of {request.server} already")
            if request.kind in (RequestKind.CLIENT_DELETION, RequestKind.CLIENT_DISABLE,
                                RequestKind.CLIENT_ENABLE) and hosted is None:
                raise UnknownMember(f"{request.client} is not a client of {request.server}")
        if request.kind is RequestKind.OWNER_CHANGE and server is not None and (
                request.client is not None and _hosted(server, request.client) is None):
            raise Conflict("the new owner must be a client of the server first")

    def _apply(self, s: Session, request: ManagementRequest) -> None:
        owner = _member(s, request.server.owner)
        if owner is None:  # checked on submission; the registry changed since
            raise UnknownMember(f"{request.server.owner} is no longer a member")
        server = _server(s, owner, request.server)
        if request.kind is RequestKind.AUTH_CERT_REGISTRATION:
            if server is None:
                server = SecurityServer(owner=owner, server_code=request.server.server_code,
                                        address="")
                s.add(server)
            if request.auth_cert is None:
                raise BadRequest("an authentication certificate registration names no certificate")
            der = request.auth_cert.public_bytes(serialization.Encoding.DER)
            server.auth_certs.append(AuthCert(sha256=hashlib.sha256(der).hexdigest(), der=der))
            for key in request.encryption_keys:
                for old in [k for k in server.encryption_keys if k.suite == int(key.suite)]:
                    server.encryption_keys.remove(old)
                s.flush()
                server.encryption_keys.append(EncryptionKey(suite=int(key.suite),
                                                            public_key=key.public_bytes))
            return
        if server is None:
            raise UnknownMember(f"security server {request.server} is no longer registered")
        _apply_to_server(s, server, request)


def _apply_to_server(s: Session, server: SecurityServer, request: ManagementRequest) -> None:
    client = request.client
    if request.kind is RequestKind.ADDRESS_CHANGE and request.address is not None:
        server.address = request.address
    elif client is not None and request.kind is RequestKind.CLIENT_REGISTRATION:
        if client.subsystem_code is not None:
            member = _member(s, client.member)
            if member is not None and client.subsystem_code not in {
                    sub.code for sub in member.subsystems}:
                member.subsystems.append(Subsystem(code=client.subsystem_code))
        server.clients.append(ServerClient(client=str(client)))
    elif client is not None:
        hosted = _hosted(server, client)
        if hosted is None:
            raise UnknownMember(f"{client} is no longer a client of {request.server}")
        if request.kind is RequestKind.CLIENT_DELETION:
            server.clients.remove(hosted)
        elif request.kind in (RequestKind.CLIENT_DISABLE, RequestKind.CLIENT_ENABLE):
            hosted.enabled = request.kind is RequestKind.CLIENT_ENABLE
        elif request.kind is RequestKind.OWNER_CHANGE:
            new_owner = _member(s, client)
            if new_owner is None:
                raise UnknownMember(f"{client} is not a member")
            server.owner = new_owner


def _member(s: Session, member: ClientId) -> Member | None:
    return s.scalars(select(Member).where(
        Member.member_class == member.member_class,
        Member.member_code == member.member_code)).one_or_none()


def _server(s: Session, owner: Member, server_id: SecurityServerId) -> SecurityServer | None:
    return s.scalars(select(SecurityServer).where(
        SecurityServer.owner_id == owner.id,
        SecurityServer.server_code == server_id.server_code)).one_or_none()


def _hosted(server: SecurityServer, client: ClientId) -> ServerClient | None:
    return next((c for c in server.clients if c.client == str(client)), None)
