"""The central server's admin REST API (`/api/v1/...`; OpenAPI at `/openapi.json`).

Members, subsystems, global groups, security servers, registration requests and their
decisions, API keys and the admin audit trail, by role (`admin_auth`). Security servers
submit their signed management requests to `POST /api/v1/management-requests` without an API
key: the signature, verified against the approved CAs, is their credential. After a change
that global configuration shows, `on_change` asks for a prompt publication.
"""

# No `from __future__ import annotations` here: FastAPI reads the routes' annotations, and the
# role dependencies are closures it could not resolve from strings.

import base64
import binascii
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Final

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from fastapi import APIRouter, Depends, FastAPI, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from xroad.central.admin_audit import AdminAuditTrail, record
from xroad.central.admin_auth import (
    ADMINISTRATORS,
    AUDIT_READERS,
    DECIDERS,
    READERS,
    ApiKeyStore,
    Authenticator,
    Principal,
)
from xroad.central.admin_http import BodyLimit, guard, install_error_handlers
from xroad.central.federation import AnchorView, TrustedAnchors
from xroad.central.members import Members, MemberView
from xroad.central.registration import Registrations, RequestView, Status
from xroad.central.requests import RequestKind, SignedRequest, new_request
from xroad.central.roles import Role
from xroad.clock import Clock
from xroad.errors import BadRequest
from xroad.identifiers import ClientId, SecurityServerId

PREFIX: Final = "/api/v1"
_TEXT = 1000


def _no_change() -> None:
    return None


@dataclass(frozen=True)
class AdminServices:
    members: Members
    registrations: Registrations
    keys: ApiKeyStore
    trail: AdminAuditTrail
    clock: Clock
    authenticators: tuple[Authenticator, ...]
    anchors: TrustedAnchors
    on_change: Callable[[], None] = field(default=_no_change)


# Database integers are 64-bit: a larger number from a client is a 422, not an overflow (500).
_MAX_ROW: Final = 2**63 - 1
RequestNumber = Annotated[int, Path(ge=1, le=_MAX_ROW)]


def admin_services(engine: Engine, clock: Clock, instance: str, *, auto_approve: bool = False,
                   on_change: Callable[[], None] = _no_change,
                   extra_authenticators: tuple[Authenticator, ...] = ()) -> AdminServices:
    """The services over one central database (an OIDC verifier goes in `extra_...`)."""
    keys = ApiKeyStore(engine, clock)
    return AdminServices(Members(engine, instance, clock),
                         Registrations(engine, clock, instance, auto_approve), keys,
                         AdminAuditTrail(engine), clock, (keys, *extra_authenticators),
                         TrustedAnchors(engine, instance, clock), on_change)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MemberIn(_Body):
    member_class: str = Field(max_length=255)
    member_code: str = Field(max_length=255)
    name: str = Field(max_length=_TEXT)


class SubsystemIn(_Body):
    subsystem_code: str = Field(max_length=255)


class GroupIn(_Body):
    code: str = Field(max_length=255)
    description: str = Field(default="", max_length=_TEXT)


class GroupMemberIn(_Body):
    client: str = Field(max_length=_TEXT, description="MN/GOV/CODE or MN/GOV/CODE/SUBSYSTEM")


class DecisionIn(_Body):
    comment: str = Field(default="", max_length=4000)


class CenterRequestIn(_Body):
    kind: RequestKind
    server: str = Field(max_length=_TEXT)
    client: str | None = Field(default=None, max_length=_TEXT)
    address: str | None = Field(default=None, max_length=_TEXT)
    auth_cert: str | None = Field(default=None, max_length=32 * 1024,
                                  description="PEM, or base64 of the DER certificate")


class SignedRequestIn(_Body):
    payload: str = Field(description="base64 of the canonical request bytes")
    signature: str = Field(description="base64 CMS by the requesting member's signing key")
    proof_of_possession: str | None = Field(
        default=None, description="base64 CMS by the new authentication key")


class AnchorIn(_Body):
    anchor: str = Field(max_length=32 * 1024,
                        description="The partner instance's configuration anchor file (JSON text)")


class KeyIn(_Body):
    role: Role
    name: str = Field(max_length=255)


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as e:
        raise BadRequest(f"{what} is not base64") from e


def _cert(text: str) -> x509.Certificate:
    try:
        if "-----BEGIN" in text:
            return x509.load_pem_x509_certificate(text.encode())
        return x509.load_der_x509_certificate(_b64(text, "auth_cert"))
    except ValueError as e:
        raise BadRequest(f"auth_cert is not a certificate: {e}") from e


def _time(at: datetime | None) -> str | None:
    return None if at is None else at.replace(tzinfo=at.tzinfo or UTC).isoformat()


def request_json(view: RequestView) -> dict[str, Any]:
    return {
        "id": view.id, "kind": view.kind, "origin": view.origin, "server": view.server,
        "client": view.client, "address": view.address,
        "auth_cert_sha256": view.auth_cert_sha256, "status": view.status,
        "signer": view.signer, "submitted_by": view.submitted_by, "comment": view.comment,
        "created_at": _time(view.created_at), "decided_at": _time(view.decided_at),
        "decided_by": view.decided_by, "complement_id": view.complement_id,
        "history": [{"at": _time(at), "actor": actor, "action": action, "comment": comment}
                    for at, actor, action, comment in view.events]}


def _anchor_json(view: AnchorView) -> dict[str, Any]:
    return {"instance": view.instance, "download_url": view.download_url,
            "anchor_sha256": view.sha256,
            "verification_cert_sha256": list(view.verification_cert_sha256),
            "added_at": _time(view.added_at), "added_by": view.added_by}


def _member_json(view: MemberView) -> dict[str, Any]:
    return {"id": view.id, "member_class": view.member_class, "member_code": view.member_code,
            "name": view.name, "subsystems": list(view.subsystems),
            "servers": list(view.servers)}


def create_admin_router(api: AdminServices) -> APIRouter:  # noqa: PLR0915 - one route each
    router = APIRouter(prefix=PREFIX, tags=["admin"])
    allow = guard(api.authenticators)
    Reader = Annotated[Principal, Depends(allow(READERS))]  # noqa: N806 - a type alias
    Admin = Annotated[Principal, Depends(allow(ADMINISTRATORS))]  # noqa: N806
    Decider = Annotated[Principal, Depends(allow(DECIDERS))]  # noqa: N806
    AuditReader = Annotated[Principal, Depends(allow(AUDIT_READERS))]  # noqa: N806
    instance = api.members.instance

    def member_id(member_class: str, member_code: str) -> ClientId:
        return ClientId(instance, member_class, member_code)

    def changed(view: RequestView) -> RequestView:
        if view.status == Status.APPROVED:
            api.on_change()
        return view

    def audited(actor: Principal, action: str, before: dict[str, Any] | None
                ) -> Callable[[Session, RequestView], None]:
        def hook(s: Session, view: RequestView) -> None:
            after = {"status": view.status, "comment": view.comment,
                     "decided_by": view.decided_by, "complement_id": view.complement_id}
            record(s, actor, api.clock.now(), action, f"registration-request:{view.id}",
                   before=before, after=after)
        return hook

    @router.get("/member-classes")
    def member_classes(_: Reader) -> list[dict[str, Any]]:
        return [{"code": c.code, "description": c.description, "auto_approve": c.auto_approve}
                for c in api.members.member_classes()]

    @router.get("/members")
    def list_members(_: Reader) -> list[dict[str, Any]]:
        return [_member_json(m) for m in api.members.all()]

    @router.post("/members", status_code=201)
    def add_member(body: MemberIn, caller: Admin) -> dict[str, Any]:
        """Register a member organization (its class must exist; code unique in its class)."""
        view = api.members.add_member(member_id(body.member_class, body.member_code),
                                      body.name, caller)
        api.on_change()
        return _member_json(view)

    @router.get("/members/{member_class}/{member_code}")
    def get_member(member_class: str, member_code: str, _: Reader) -> dict[str, Any]:
        """A member with its subsystems, the servers it owns and where it is a client."""
        detail = api.members.get(member_id(member_class, member_code))
        return {**_member_json(detail.member),
                "owned_servers": [{"id": s.id, "address": s.address,
                                   "auth_cert_sha256": list(s.auth_cert_sha256),
                                   "clients": [c.client for c in s.clients]}
                                  for s in detail.owned_servers],
                "registered_on": [{"client": c.client, "server": c.server,
                                   "enabled": c.enabled} for c in detail.registered_on]}

    @router.post("/members/{member_class}/{member_code}/subsystems", status_code=201)
    def add_subsystem(member_class: str, member_code: str, body: SubsystemIn,
                      caller: Admin) -> dict[str, Any]:
        member = member_id(member_class, member_code)
        view = api.members.add_subsystem(ClientId(instance, member.member_class,
                                                  member.member_code, body.subsystem_code),
                                         caller)
        api.on_change()
        return _member_json(view)

    @router.get("/security-servers")
    def security_servers(_: Reader) -> list[dict[str, Any]]:
        return [{"id": s.id, "address": s.address, "auth_cert_sha256": list(s.auth_cert_sha256),
                 "clients": [{"client": c.client, "enabled": c.enabled} for c in s.clients]}
                for s in api.members.servers()]

    @router.get("/security-servers/auth-certs")
    def auth_certs(_: Reader, server: Annotated[str, Query(max_length=_TEXT)]
                   ) -> list[dict[str, Any]]:
        """A server's registered authentication certificates with their validity."""
        return [{"sha256": hashlib.sha256(c.public_bytes(serialization.Encoding.DER)).hexdigest(),
                 "subject": c.subject.rfc4514_string(), "issuer": c.issuer.rfc4514_string(),
                 "not_before": _time(c.not_valid_before_utc),
                 "not_after": _time(c.not_valid_after_utc)}
                for c in api.members.auth_certs(SecurityServerId.parse(server))]

    @router.get("/global-groups")
    def global_groups(_: Reader) -> list[dict[str, Any]]:
        return [{"id": g.id, "code": g.code, "description": g.description,
                 "members": list(g.members)} for g in api.members.global_groups()]

    @router.post("/global-groups", status_code=201)
    def add_global_group(body: GroupIn, caller: Admin) -> dict[str, Any]:
        group = api.members.add_global_group(body.code, body.description, caller)
        api.on_change()
        return {"id": group.id, "code": group.code, "description": group.description,
                "members": list(group.members)}

    @router.post("/global-groups/{code}/members")
    def add_group_member(code: str, body: GroupMemberIn, caller: Admin) -> dict[str, Any]:
        group = api.members.add_group_member(code, ClientId.parse(body.client), caller)
        api.on_change()
        return {"id": group.id, "code": group.code, "description": group.description,
                "members": list(group.members)}

    @router.get("/registration-requests")
    def list_requests(_: Reader, status: Annotated[Status | None, Query()] = None
                      ) -> list[dict[str, Any]]:
        return [request_json(v) for v in api.registrations.list(status)]

    @router.get("/registration-requests/{request_id}")
    def get_request(request_id: RequestNumber, _: Reader) -> dict[str, Any]:
        """A request with its history (who did what, when, and why), and the exact payload
        its requester signed (canonical JSON, as text; `signed`: a signature came with it)."""
        view = api.registrations.get(request_id)
        return {**request_json(view), "payload": view.payload.decode("utf-8", "replace"),
                "signed": view.signed}

    @router.post("/registration-requests", status_code=201)
    def submit_center(body: CenterRequestIn, caller: Decider) -> dict[str, Any]:
        """The central administration's side of a request; it completes (or waits for) the
        security server's own signed request."""
        request = new_request(
            body.kind, SecurityServerId.parse(body.server), api.clock.now(),
            client=None if body.client is None else ClientId.parse(body.client),
            address=body.address, auth_cert=None if body.auth_cert is None
            else _cert(body.auth_cert))
        view = api.registrations.submit_center(
            request, caller.label, audit=audited(caller, "registration.submit", None))
        return request_json(changed(view))

    @router.post("/registration-requests/{request_id}/approve")
    def approve(request_id: RequestNumber, body: DecisionIn, caller: Decider) -> dict[str, Any]:
        view = api.registrations.approve(
            request_id, caller.label, body.comment,
            audit=audited(caller, "registration.approve", {"status": str(Status.SUBMITTED)}))
        return request_json(changed(view))

    @router.post("/registration-requests/{request_id}/reject")
    def reject(request_id: RequestNumber, body: DecisionIn, caller: Decider) -> dict[str, Any]:
        view = api.registrations.reject(
            request_id, caller.label, body.comment,
            audit=audited(caller, "registration.reject", {"status": str(Status.SUBMITTED)}))
        return request_json(view)

    @router.post("/management-requests", status_code=201)
    def management_request(body: SignedRequestIn) -> dict[str, Any]:
        """A security server's signed request (no API key: verified against the approved CAs
        and the requesting member's signing certificate)."""
        signed = SignedRequest(
            _b64(body.payload, "payload"), _b64(body.signature, "signature"),
            None if body.proof_of_possession is None
            else _b64(body.proof_of_possession, "proof_of_possession"))
        view = api.registrations.submit_signed(signed, api.members.approved_cas())
        return request_json(changed(view))

    @router.get("/trusted-anchors")
    def trusted_anchors(_: Reader) -> list[dict[str, Any]]:
        """Anchors of the instances this one federates with (ADR 0008)."""
        return [_anchor_json(v) for v in api.anchors.list()]

    @router.post("/trusted-anchors", status_code=201)
    def add_trusted_anchor(body: AnchorIn, caller: Admin) -> dict[str, Any]:
        """Trust another instance: its configuration appears to this instance's security
        servers through the next global configuration. Replaces an earlier anchor of it."""
        view = api.anchors.add(body.anchor.encode(), caller)
        api.on_change()
        return _anchor_json(view)

    @router.delete("/trusted-anchors/{instance}")
    def remove_trusted_anchor(instance: str, caller: Admin) -> dict[str, Any]:
        view = api.anchors.remove(instance, caller)
        api.on_change()
        return _anchor_json(view)

    @router.get("/api-keys")
    def list_keys(_: Admin) -> list[dict[str, Any]]:
        return [{"key_id": k.key_id, "role": k.role, "name": k.name,
                 "created_at": _time(k.created_at), "revoked_at": _time(k.revoked_at)}
                for k in api.keys.list()]

    @router.post("/api-keys", status_code=201)
    def create_key(body: KeyIn, caller: Admin) -> dict[str, Any]:
        """A new key; its token is shown in this answer only."""
        with Session(api.keys.engine) as s, s.begin():
            issued = api.keys.create(body.role, body.name, s)
            record(s, caller, api.clock.now(), "api-key.create", f"api-key:{issued.key_id}",
                   after={"key_id": issued.key_id, "role": issued.role, "name": issued.name})
        return {"key_id": issued.key_id, "role": issued.role, "name": issued.name,
                "token": issued.token}

    @router.post("/api-keys/{key_id}/revoke")
    def revoke_key(key_id: str, caller: Admin) -> dict[str, Any]:
        with Session(api.keys.engine) as s, s.begin():
            info = api.keys.revoke(key_id, s)
            record(s, caller, api.clock.now(), "api-key.revoke", f"api-key:{key_id}",
                   before={"revoked_at": None}, after={"revoked_at": _time(info.revoked_at)})
        return {"key_id": info.key_id, "role": info.role, "name": info.name,
                "revoked_at": _time(info.revoked_at)}

    @router.get("/admin-audit")
    def admin_audit(_: AuditReader, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                    offset: Annotated[int, Query(ge=0, le=_MAX_ROW)] = 0,
                    action: Annotated[str | None, Query(max_length=64)] = None
                    ) -> dict[str, Any]:
        """Every change made through this API, newest first."""
        total, entries = api.trail.list(limit=limit, offset=offset, action=action)
        return {"total": total, "entries": [
            {"id": e.id, "at": _time(e.at), "actor": e.actor, "role": e.role,
             "action": e.action, "target": e.target, "before": e.before, "after": e.after}
            for e in entries]}

    return router


def mount_admin_api(app: FastAPI, api: AdminServices) -> None:
    """Add the admin API to the central server's app (routes, error shape, body limit)."""
    app.include_router(create_admin_router(api))
    install_error_handlers(app, PREFIX)
    app.add_middleware(BodyLimit, prefix=PREFIX)
