"""Members and global groups, API keys and their files, without HTTP."""

import stat

import pytest
from sqlalchemy import create_engine

from xroad.central.admin_audit import AdminAuditTrail
from xroad.central.admin_auth import (
    ApiKeyStore,
    Credentials,
    Principal,
    ensure_key_file,
    parse_authorization,
    write_key_file,
)
from xroad.central.errors import Conflict, NotFound
from xroad.central.members import Members
from xroad.central.roles import Role
from xroad.central.seed import InstanceSeed, MemberSeed
from xroad.central.service import Registry
from xroad.clock import FixedClock
from xroad.errors import BadRequest, InvalidClientIdentifier, InvalidMessage, UnknownMember
from xroad.identifiers import ClientId

ADMIN = Principal("key:12345678", "first administrator", Role.ADMINISTRATOR)


@pytest.fixture
def engine(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path}/central.db")
    Registry(engine, "MN").apply_seed(InstanceSeed(
        instance="MN", member_classes=(("GOV", ""), ("COM", "")),
        members=(MemberSeed(ClientId.parse("MN/GOV/GASR"), "GASR", ("civil",)),), servers=()))
    return engine


@pytest.fixture
def members(engine, at):
    return Members(engine, "MN", FixedClock(at))


def test_members_and_groups(members, engine):
    members.add_member(ClientId.parse("MN/COM/NEWCO"), " New Co ", ADMIN)
    members.add_subsystem(ClientId.parse("MN/COM/NEWCO/reports"), ADMIN)
    members.add_global_group("partners", "Partners", ADMIN)
    members.add_group_member("partners", ClientId.parse("MN/COM/NEWCO/reports"), ADMIN)
    assert [m.id for m in members.all()] == ["MN/COM/NEWCO", "MN/GOV/GASR"]
    detail = members.get(ClientId.parse("MN/COM/NEWCO"))
    assert (detail.member.name, detail.member.subsystems) == ("New Co", ("reports",))
    assert members.global_groups()[0].members == ("MN/COM/NEWCO/reports",)
    total, entries = AdminAuditTrail(engine).list()
    assert total == 4
    assert {e.actor for e in entries} == {"first administrator (key:12345678)"}
    assert [c.code for c in members.member_classes()] == ["COM", "GOV"]


@pytest.mark.parametrize(("call", "error"), [
    (lambda m: m.add_member(ClientId.parse("MN/GOV/GASR"), "again"), Conflict),
    (lambda m: m.add_member(ClientId.parse("LA/GOV/X"), "Lao"), BadRequest),
    (lambda m: m.add_member(ClientId.parse("MN/GOV/GASR/sub"), "x"), BadRequest),
    (lambda m: m.add_member(ClientId.parse("MN/GOV/X"), "bad\nname"), BadRequest),
    (lambda m: m.add_subsystem(ClientId.parse("MN/GOV/GASR"), None), BadRequest),
    (lambda m: m.add_subsystem(ClientId.parse("MN/GOV/NOBODY/x"), None), UnknownMember),
    (lambda m: m.add_group_member("nope", ClientId.parse("MN/GOV/GASR")), NotFound),
    (lambda m: m.add_global_group("bad code", ""), InvalidMessage),
    (lambda m: m.get(ClientId.parse("MN/GOV/NOBODY")), NotFound),
    (lambda m: m.add_member(ClientId("MN", "GOV", "A B"), "x"), InvalidClientIdentifier),
], ids=["duplicate", "other-instance", "subsystem-as-member", "control-char", "no-subsystem",
        "unknown-member", "unknown-group", "group-code", "unknown", "charset"])
def test_refusals_write_nothing(members, engine, call, error):
    with pytest.raises(error):
        call(members)
    assert AdminAuditTrail(engine).list()[0] == 0
    assert [m.id for m in members.all()] == ["MN/GOV/GASR"]


def test_a_group_member_must_be_registered(members):
    members.add_global_group("partners", "")
    with pytest.raises(UnknownMember):
        members.add_group_member("partners", ClientId.parse("MN/GOV/GASR/nosuch"))
    members.add_group_member("partners", ClientId.parse("MN/GOV/GASR/civil"))
    with pytest.raises(Conflict):
        members.add_group_member("partners", ClientId.parse("MN/GOV/GASR/civil"))


@pytest.mark.parametrize(("header", "expected"), [
    ("X-Road-ApiKey token=abc.def", Credentials("api-key", "abc.def")),
    ("Bearer eyJhbGciOi.x.y", Credentials("bearer", "eyJhbGciOi.x.y")),
    ("bearer t", Credentials("bearer", "t")),
    ("X-Road-ApiKey token=", None), ("X-Road-ApiKey abc", None), ("Basic x", None),
    ("", None), (None, None)])
def test_authorization_headers(header, expected):
    assert parse_authorization(header) == expected


def test_keys_are_stored_hashed_and_files_are_private(engine, at, tmp_path):
    store = ApiKeyStore(engine, FixedClock(at))
    issued = store.create(Role.AUDITOR, "auditor")
    assert store.authenticate(Credentials("bearer", issued.token)) == Principal(
        f"key:{issued.key_id}", "auditor", Role.AUDITOR)
    assert store.authenticate(Credentials("api-key", issued.token + "x")) is None
    assert store.authenticate(Credentials("api-key", issued.key_id)) is None
    with engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT secret_sha256 FROM admin_api_key").scalar_one()
    assert issued.token.split(".")[1].encode() not in stored
    path = tmp_path / "keys" / "admin-api-key"
    assert ensure_key_file(store, path, Role.ADMINISTRATOR, "first administrator")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    token = path.read_text()
    assert not ensure_key_file(store, path, Role.ADMINISTRATOR, "first administrator")
    assert path.read_text() == token  # reused
    assert ensure_key_file(store, path, Role.AUDITOR, "auditor")  # wrong role: replaced
    write_key_file(path, "x")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(BadRequest):
        store.create(Role.AUDITOR, "")
