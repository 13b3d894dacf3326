"""Identifiers: exact parse/str round trip over the X-Road character set, and nothing else."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xroad.errors import InvalidClientIdentifier, InvalidMessage, InvalidServiceIdentifier
from xroad.identifiers import ClientId, ObjectType, SecurityServerId, ServiceId

XROAD_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'()+,-.=?"
parts = st.text(alphabet=XROAD_CHARS, min_size=1, max_size=20)


@pytest.mark.parametrize(("cls", "text"), [
    pytest.param(ClientId, "MN/GOV/GASR", id="member"),
    pytest.param(ClientId, "MN/GOV/GASR/civil-registry", id="subsystem"),
    pytest.param(ClientId, "MN/COM/a'b(c)+d,e-f.g=h?", id="client-all-special-chars"),
    pytest.param(ServiceId, "MN/GOV/GASR/civil/getPerson", id="service"),
    pytest.param(ServiceId, "MN/GOV/GASR/civil/getPerson/v1", id="service-version"),
    pytest.param(SecurityServerId, "MN/GOV/GASR/ss1", id="security-server"),
])
def test_text_round_trips(cls, text):
    assert str(cls.parse(text)) == text


def test_parsed_fields():
    client = ClientId.parse("MN/GOV/GASR/civil")
    service = ServiceId.parse("MN/GOV/GASR/civil/getPerson/v1")
    server = SecurityServerId.parse("MN/GOV/GASR/ss1")

    assert client == ClientId("MN", "GOV", "GASR", "civil")
    assert client.object_type is ObjectType.SUBSYSTEM
    assert ClientId.parse("MN/GOV/GASR").object_type is ObjectType.MEMBER
    assert service.provider == client
    assert (service.service_code, service.service_version) == ("getPerson", "v1")
    assert server.owner == ClientId("MN", "GOV", "GASR")
    assert server.server_code == "ss1"


def test_identifiers_are_hashable_values():
    rights = {ClientId.parse("MN/GOV/GASR/civil"): "ok"}
    assert rights[ClientId("MN", "GOV", "GASR", "civil")] == "ok"
    with pytest.raises(AttributeError):
        ClientId.parse("MN/GOV/GASR").member_code = "X"  # type: ignore[misc]


@pytest.mark.parametrize(("text", "member"), [
    ("MN/GOV/GASR/civil", "MN/GOV/GASR"),
    ("MN/GOV/GASR", "MN/GOV/GASR"),
])
def test_member_of_client(text, member):
    assert ClientId.parse(text).member == ClientId.parse(member)
    assert ClientId.parse(text).member.subsystem_code is None


BAD_CLIENTS = {
    "too-few-parts": "MN/GOV",
    "too-many-parts": "MN/GOV/GASR/civil/extra",
    "empty": "",
    "empty-member-class": "MN//GASR",
    "empty-subsystem": "MN/GOV/GASR/",
    "leading-slash": "/MN/GOV/GASR",
    "space": "MN/GOV/GA SR",
    "percent": "MN/GOV/GA%2FSR",
    "backslash": "MN/GOV/GA\\SR",
    "semicolon": "MN/GOV/GASR;x",
    "newline": "MN/GOV/GASR\n",
    "cyrillic": "MN/GOV/ГАСР",
    "part-too-long": "MN/GOV/" + "A" * 256,
}


@pytest.mark.parametrize("text", BAD_CLIENTS.values(), ids=BAD_CLIENTS.keys())
def test_client_id_rejects(text):
    with pytest.raises(InvalidClientIdentifier):
        ClientId.parse(text)


def test_client_id_part_of_maximum_length_is_accepted():
    assert ClientId.parse("MN/GOV/" + "A" * 255).member_code == "A" * 255


@pytest.mark.parametrize("parts_", [
    pytest.param(("MN", "GOV", "GA/SR"), id="slash-in-part"),
    pytest.param(("MN", "GOV", ""), id="empty-part"),
    pytest.param(("MN", "GOV", "GASR", ""), id="empty-subsystem"),
    pytest.param(("MN", "GOV", "GA SR"), id="space"),
])
def test_client_id_constructor_validates(parts_):
    with pytest.raises(InvalidClientIdentifier):
        ClientId(*parts_)


BAD_SERVICES = {
    "member-only-provider": "MN/GOV/GASR/getPerson",
    "too-many-parts": "MN/GOV/GASR/civil/getPerson/v1/extra",
    "bad-provider-part": "MN/GOV/GA SR/civil/getPerson",
    "percent-in-code": "MN/GOV/GASR/civil/get%20Person",
    "empty-code": "MN/GOV/GASR/civil/",
    "empty-version": "MN/GOV/GASR/civil/getPerson/",
}


@pytest.mark.parametrize("text", BAD_SERVICES.values(), ids=BAD_SERVICES.keys())
def test_service_id_rejects(text):
    with pytest.raises(InvalidServiceIdentifier):
        ServiceId.parse(text)


@pytest.mark.parametrize("text", [
    pytest.param("MN/GOV/GASR", id="too-few-parts"),
    pytest.param("MN/GOV/GASR/ss1/x", id="too-many-parts"),
    pytest.param("MN/GOV/GASR/ss 1", id="space-in-code"),
    pytest.param("MN/GOV/GASR/", id="empty-code"),
])
def test_security_server_id_rejects(text):
    with pytest.raises(InvalidMessage):
        SecurityServerId.parse(text)


def test_security_server_owner_must_be_member():
    with pytest.raises(InvalidMessage, match="member"):
        SecurityServerId(ClientId.parse("MN/GOV/GASR/civil"), "ss1")


@given(instance=parts, member_class=parts, member_code=parts,
       subsystem=st.none() | parts)
def test_any_valid_client_round_trips(instance, member_class, member_code, subsystem):
    client = ClientId(instance, member_class, member_code, subsystem)
    assert ClientId.parse(str(client)) == client


@given(provider=st.builds(ClientId, parts, parts, parts, parts), code=parts,
       version=st.none() | parts)
def test_any_valid_service_round_trips(provider, code, version):
    service = ServiceId(provider, code, version)
    assert ServiceId.parse(str(service)) == service


@given(owner=st.builds(ClientId, parts, parts, parts), code=parts)
def test_any_valid_security_server_round_trips(owner, code):
    server = SecurityServerId(owner, code)
    assert SecurityServerId.parse(str(server)) == server


@given(text=st.text(alphabet=st.characters(exclude_characters=XROAD_CHARS + "/"), min_size=1,
                    max_size=5))
def test_any_character_outside_the_set_is_rejected(text):
    with pytest.raises(InvalidClientIdentifier):
        ClientId("MN", "GOV", text)
