"""The registration workflow over a real (SQLite) registry: signed requests, matching from
both sides, officer decisions, auto-approval, and refusals that leave nothing behind."""

import base64
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from keys.devpki import new_key
from keys.token import SoftwareToken
from xroad.central.models import RegistrationRequest
from xroad.central.registration import Conflict, NotFound, Registrations, Status
from xroad.central.requests import (
    ManagementRequest,
    RequestKind,
    SignedRequest,
    new_request,
    sign_request,
)
from xroad.central.seed import InstanceSeed, MemberSeed
from xroad.central.service import Registry
from xroad.clock import FixedClock
from xroad.encryption import Suite, keypair_from_seed
from xroad.errors import (
    BadRequest,
    CertificateError,
    InvalidSignature,
    MalformedSignature,
    UnknownMember,
)
from xroad.identifiers import ClientId, SecurityServerId

PIN = "pin"
GASR = ClientId.parse("MN/GOV/GASR")
SS2 = SecurityServerId.parse("MN/GOV/GASR/ss2")
LAND = ClientId.parse("MN/GOV/GASR/land-registry")


@pytest.fixture
def world(tmp_path, ca, at, make_signer):
    engine = create_engine(f"sqlite:///{tmp_path}/central.db")
    registry = Registry(engine, "MN")
    registry.apply_seed(InstanceSeed(
        instance="MN", member_classes=(("GOV", "government"), ("COM", "companies")),
        members=(MemberSeed(GASR, "General Authority for State Registration", ("civil",)),
                 MemberSeed(ClientId.parse("MN/COM/KHANBANK"), "Khan Bank", ())),
        servers=(), global_groups=()))
    clock = FixedClock(at + timedelta(minutes=5))
    auth_key = new_key()
    auth_cert = ca.issue_auth_cert(SS2, auth_key.public_key(), at)
    token = SoftwareToken(tmp_path / "token")
    token.store("auth", auth_key, [auth_cert, *ca.chain], PIN)
    return {"engine": engine, "flow": Registrations(engine, clock, "MN"), "clock": clock,
            "signer": make_signer(ca), "auth": token.unlock("auth", PIN), "cas": ca.chain,
            "ca": ca, "registry": registry}


def _signed(world, kind, **details):
    request = new_request(kind, SS2, world["clock"].now(), **details)
    return sign_request(request, world["signer"], list(world["signer"].chain),
                        world["clock"].now(),
                        auth_signer=world["auth"] if kind is RequestKind.AUTH_CERT_REGISTRATION
                        else None)


def _register_server(world):
    flow = world["flow"]
    sent = flow.submit_signed(_signed(world, RequestKind.AUTH_CERT_REGISTRATION,
                                      auth_cert=world["auth"].certificate), world["cas"])
    assert sent.status == Status.SUBMITTED
    return flow.approve(sent.id, "officer-1", "checked the paper form")


def _conf(world):
    return world["registry"].snapshot(1, world["clock"].now(), timedelta(minutes=10))


def test_a_new_server_appears_only_after_the_officer_approves(world):
    flow = world["flow"]
    sent = flow.submit_signed(_signed(world, RequestKind.AUTH_CERT_REGISTRATION,
                                      auth_cert=world["auth"].certificate), world["cas"])
    assert [r.id for r in flow.list(Status.SUBMITTED)] == [sent.id]
    assert sent.signer == "MN/GOV/GASR"
    approved = flow.approve(sent.id, "officer-1", "checked the paper form")
    assert approved.status == Status.APPROVED
    assert approved.decided_by == "officer-1"
    assert [e[2] for e in approved.events] == ["submitted", "approved"]
    complement = flow.get(approved.complement_id)
    assert (complement.origin, complement.status) == ("center", "approved")
    address = flow.submit_signed(_signed(world, RequestKind.ADDRESS_CHANGE,
                                         address="https://10.0.0.2:5500"), world["cas"])
    flow.approve(address.id, "officer-1")
    [server] = [s for s in _conf(world).security_servers if s.id == SS2]
    assert server.auth_cert_hashes == {approved.auth_cert_sha256}


def test_requests_from_both_sides_are_matched_without_an_officer(world):
    _register_server(world)
    flow = world["flow"]
    center = flow.submit_center(new_request(RequestKind.CLIENT_REGISTRATION, SS2,
                                            world["clock"].now(), client=LAND), "admin-1")
    assert center.status == Status.SUBMITTED
    with pytest.raises(Conflict, match="completed by the security server"):
        flow.approve(center.id, "officer-1")
    server_side = flow.submit_signed(_signed(world, RequestKind.CLIENT_REGISTRATION,
                                             client=LAND), world["cas"])
    assert server_side.status == Status.APPROVED
    assert server_side.complement_id == center.id
    assert flow.get(center.id).status == Status.APPROVED
    [member] = [m for m in _conf(world).members if m.id == GASR]
    assert "land-registry" in member.subsystems  # created with its registration


def test_client_disable_enable_and_deletion(world):
    _register_server(world)
    flow = world["flow"]
    for kind in (RequestKind.CLIENT_REGISTRATION, RequestKind.ADDRESS_CHANGE):
        details = {"client": LAND} if kind is RequestKind.CLIENT_REGISTRATION else {
            "address": "https://10.0.0.2:5500"}
        flow.approve(flow.submit_signed(_signed(world, kind, **details), world["cas"]).id, "o")

    def clients():
        return next(s for s in _conf(world).security_servers if s.id == SS2).clients

    assert LAND in clients()
    flow.approve(flow.submit_signed(_signed(world, RequestKind.CLIENT_DISABLE, client=LAND),
                                    world["cas"]).id, "o")
    assert LAND not in clients()
    flow.approve(flow.submit_signed(_signed(world, RequestKind.CLIENT_ENABLE, client=LAND),
                                    world["cas"]).id, "o")
    assert LAND in clients()
    flow.approve(flow.submit_signed(_signed(world, RequestKind.CLIENT_DELETION, client=LAND),
                                    world["cas"]).id, "o")
    assert LAND not in clients()
    with pytest.raises(UnknownMember, match="not a client"):
        flow.submit_signed(_signed(world, RequestKind.CLIENT_DELETION, client=LAND), world["cas"])


def test_auto_approval_per_member_class(world):
    with Session(world["engine"]) as s, s.begin():
        from xroad.central.models import MemberClass  # noqa: PLC0415
        s.get(MemberClass, "GOV").auto_approve = True
    sent = world["flow"].submit_signed(_signed(world, RequestKind.AUTH_CERT_REGISTRATION,
                                               auth_cert=world["auth"].certificate),
                                       world["cas"])
    assert (sent.status, sent.decided_by) == (Status.APPROVED, "auto-approval")


def test_a_rejection_needs_a_reason_and_is_final(world):
    flow = world["flow"]
    sent = flow.submit_signed(_signed(world, RequestKind.AUTH_CERT_REGISTRATION,
                                      auth_cert=world["auth"].certificate), world["cas"])
    with pytest.raises(BadRequest, match="why"):
        flow.reject(sent.id, "officer-1", " ")
    rejected = flow.reject(sent.id, "officer-1", "no paper form received")
    assert (rejected.status, rejected.comment) == (Status.REJECTED, "no paper form received")
    with pytest.raises(Conflict, match="rejected already"):
        flow.approve(sent.id, "officer-1")
    with pytest.raises(NotFound):
        flow.approve(9999, "officer-1")


def _count(world):
    with Session(world["engine"]) as s:
        return s.scalar(select(func.count()).select_from(RegistrationRequest))


def test_a_duplicate_certificate_or_client_is_refused(world):
    _register_server(world)
    before = _count(world)
    with pytest.raises(Conflict, match="registered already"):
        world["flow"].submit_signed(_signed(world, RequestKind.AUTH_CERT_REGISTRATION,
                                            auth_cert=world["auth"].certificate), world["cas"])
    assert _count(world) == before  # nothing half-written


def test_forged_and_malformed_requests_are_refused(world, foreign_ca, make_signer):
    good = _signed(world, RequestKind.AUTH_CERT_REGISTRATION, auth_cert=world["auth"].certificate)
    tampered = SignedRequest(good.payload.replace(b"ss2", b"ss9"), good.signature,
                             good.proof_of_possession)
    with pytest.raises(InvalidSignature):
        world["flow"].submit_signed(tampered, world["cas"])
    with pytest.raises(MalformedSignature, match="proof of possession"):
        world["flow"].submit_signed(SignedRequest(good.payload, good.signature), world["cas"])
    foreign = make_signer(foreign_ca)
    request = ManagementRequest.parse(good.payload)
    with pytest.raises(CertificateError):
        world["flow"].submit_signed(sign_request(request, foreign, list(foreign.chain),
                                                 world["clock"].now(), world["auth"]),
                                    world["cas"])
    bank = make_signer(world["ca"], "MN/COM/KHANBANK")
    with pytest.raises(InvalidSignature, match="may not sign"):
        world["flow"].submit_signed(sign_request(request, bank, list(bank.chain),
                                                 world["clock"].now(), world["auth"]),
                                    world["cas"])
    for payload in (b"{", b"[]", b'{"format": "other"}', b"x" * 70_000):
        with pytest.raises(BadRequest):
            ManagementRequest.parse(payload)
    assert _count(world) == 0


@pytest.mark.parametrize(("kind", "details", "message"), [
    (RequestKind.CLIENT_REGISTRATION, {}, "needs a client"),
    (RequestKind.ADDRESS_CHANGE, {"address": "http://plain"}, "https://"),
    (RequestKind.ADDRESS_CHANGE, {"address": "https://x", "client": LAND}, "takes no client"),
    (RequestKind.OWNER_CHANGE, {"client": LAND}, "a member, not a subsystem"),
    (RequestKind.CLIENT_REGISTRATION, {"client": ClientId.parse("LA/GOV/X/y")},
     "different instances"),
])
def test_inconsistent_requests_are_refused(world, kind, details, message):
    with pytest.raises(BadRequest, match=message):
        new_request(kind, SS2, world["clock"].now(), **details)


def test_a_request_for_an_unknown_member_or_server_is_refused(world):
    flow = world["flow"]
    with pytest.raises(UnknownMember, match="not registered"):
        flow.submit_center(new_request(RequestKind.ADDRESS_CHANGE, SS2, world["clock"].now(),
                                       address="https://10.0.0.2"), "admin-1")
    with pytest.raises(UnknownMember, match="MN/GOV/NOBODY"):
        flow.submit_center(new_request(RequestKind.AUTH_CERT_REGISTRATION,
                                       SecurityServerId.parse("MN/GOV/NOBODY/ss1"),
                                       world["clock"].now(), auth_cert=world["auth"].certificate),
                           "admin-1")
    with pytest.raises(BadRequest, match="not of instance MN"):
        flow.submit_center(new_request(RequestKind.ADDRESS_CHANGE,
                                       SecurityServerId.parse("LA/GOV/X/ss1"),
                                       world["clock"].now(), address="https://x"), "admin-1")
    assert _count(world) == 0


def test_a_servers_encryption_keys_are_registered_with_its_certificate(world):
    keys = tuple(keypair_from_seed(bytes(range(96)), suite).recipient for suite in Suite)
    request = new_request(RequestKind.AUTH_CERT_REGISTRATION, SS2, world["clock"].now(),
                          auth_cert=world["auth"].certificate, encryption_keys=keys)
    assert ManagementRequest.parse(request.payload()) == request
    signed = sign_request(request, world["signer"], list(world["signer"].chain),
                          world["clock"].now(), auth_signer=world["auth"])
    flow = world["flow"]
    flow.approve(flow.submit_signed(signed, world["cas"]).id, "officer-1")
    flow.approve(flow.submit_signed(_signed(world, RequestKind.ADDRESS_CHANGE,
                                            address="https://10.0.0.2:5500"), world["cas"]).id,
                 "officer-1")
    [server] = [s for s in _conf(world).security_servers if s.id == SS2]
    assert server.encryption_keys == keys


def test_encryption_keys_travel_only_with_a_certificate_and_must_be_keys(world):
    key = keypair_from_seed(bytes(96), Suite.X25519_AES256GCM).recipient
    with pytest.raises(BadRequest, match="with an authentication certificate"):
        new_request(RequestKind.ADDRESS_CHANGE, SS2, world["clock"].now(),
                    address="https://x", encryption_keys=(key,))
    with pytest.raises(BadRequest, match="one encryption key per suite"):
        new_request(RequestKind.AUTH_CERT_REGISTRATION, SS2, world["clock"].now(),
                    auth_cert=world["auth"].certificate, encryption_keys=(key, key))
    good = new_request(RequestKind.AUTH_CERT_REGISTRATION, SS2, world["clock"].now(),
                       auth_cert=world["auth"].certificate, encryption_keys=(key,))
    bad = good.payload().replace(base64.b64encode(key.public_bytes),
                                 base64.b64encode(b"\x00" * 7))
    with pytest.raises(BadRequest, match="malformed"):
        ManagementRequest.parse(bad)


def test_the_same_request_is_not_made_twice_while_it_waits(world):
    flow = world["flow"]
    first = flow.submit_signed(_signed(world, RequestKind.AUTH_CERT_REGISTRATION,
                                       auth_cert=world["auth"].certificate), world["cas"])
    with pytest.raises(Conflict, match=f"waiting already \\(request {first.id}\\)"):
        flow.submit_signed(_signed(world, RequestKind.AUTH_CERT_REGISTRATION,
                                   auth_cert=world["auth"].certificate), world["cas"])
    assert _count(world) == 1
