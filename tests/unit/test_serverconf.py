"""Access rights and the security server's local configuration (serverconf.toml)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xroad.access import AccessRight, Endpoint, check_access
from xroad.errors import AccessDenied, InvalidMessage, UnknownService
from xroad.identifiers import ClientId, GlobalGroupId, LocalGroupId, SecurityServerId, ServiceId
from xroad.serverconf import ServerConf, ServiceDescription, ServiceType, parse, render

LAND = ClientId.parse("MN/GOV/ALAMGAC/land")
CIVIL = ClientId.parse("MN/GOV/GASR/civil")
RIGHTS = (
    AccessRight(LAND, CIVIL, "getPerson"),
    AccessRight(ClientId.parse("MN/GOV/ALAMGAC"), CIVIL, "getAddress"),
)

ACCESS = {
    "granted": (LAND, "MN/GOV/GASR/civil/getPerson", True),
    "granted-any-version": (LAND, "MN/GOV/GASR/civil/getPerson/v2", True),
    "member-right": (ClientId.parse("MN/GOV/ALAMGAC"), "MN/GOV/GASR/civil/getAddress", True),
    "other-service-code": (LAND, "MN/GOV/GASR/civil/getAddress", False),
    "other-provider": (LAND, "MN/GOV/GASR/land/getPerson", False),
    "other-subsystem-of-client": (ClientId.parse("MN/GOV/ALAMGAC/tax"),
                                  "MN/GOV/GASR/civil/getPerson", False),
    "member-does-not-inherit-subsystem-right": (ClientId.parse("MN/GOV/ALAMGAC"),
                                                "MN/GOV/GASR/civil/getPerson", False),
    "subsystem-does-not-inherit-member-right": (LAND, "MN/GOV/GASR/civil/getAddress", False),
    "other-instance": (ClientId.parse("EE/GOV/ALAMGAC/land"), "MN/GOV/GASR/civil/getPerson",
                       False),
    "service-code-case-matters": (LAND, "MN/GOV/GASR/civil/GetPerson", False),
}


@pytest.mark.parametrize(("client", "service", "allowed"), ACCESS.values(), ids=ACCESS.keys())
def test_check_access(client, service, allowed):
    if allowed:
        check_access(client, ServiceId.parse(service), RIGHTS)
    else:
        with pytest.raises(AccessDenied, match=str(client)):
            check_access(client, ServiceId.parse(service), RIGHTS)


def test_no_rights_denies_everything():
    with pytest.raises(AccessDenied):
        check_access(LAND, ServiceId.parse("MN/GOV/GASR/civil/getPerson"), [])


CONF = ServerConf(
    server_id=SecurityServerId.parse("MN/GOV/GASR/ss1"),
    clients=(CIVIL, ClientId.parse("MN/GOV/GASR")),
    services=(
        ServiceDescription(CIVIL, "getPerson", ServiceType.SOAP, "http://127.0.0.1:8001/soap"),
        ServiceDescription(CIVIL, "persons", ServiceType.REST,
                           'http://127.0.0.1:8001/api?q="Бат"\\', 12.5),
    ),
    access_rights=(
        AccessRight(LAND, CIVIL, "getPerson"),
        AccessRight(LAND, CIVIL, "persons"),
        AccessRight(ClientId.parse("MN/GOV/ALAMGAC"), CIVIL, "getPerson"),
        AccessRight(LocalGroupId("registries"), CIVIL, "persons", Endpoint("GET", "/persons/*")),
        AccessRight(GlobalGroupId("MN", "tax-auditors"), CIVIL, "persons",
                    Endpoint("*", "/public/**")),
    ),
    local_groups=(("registries", frozenset({LAND, ClientId.parse("MN/GOV/MTA/tax")})),),
    audit_bodies=frozenset({CIVIL}),
)


def test_render_parse_round_trip():
    assert parse(render(CONF)) == CONF


def test_parse_hand_written():
    conf = parse("""
server_id = "MN/GOV/GASR/ss1"

[[clients]]
id = "MN/GOV/GASR/civil"
audit_bodies = true

[[services]]
provider = "MN/GOV/GASR/civil"
code = "getPerson"
type = "SOAP"
url = "http://127.0.0.1:8001/soap"

[[access]]
subject = "MN/GOV/ALAMGAC/land"
provider = "MN/GOV/GASR/civil"
services = ["getPerson", "getAddress"]
""")
    assert conf.services[0].timeout_s == 60.0
    assert conf.audit_bodies == frozenset({CIVIL})
    assert conf.hosts(CIVIL)
    assert not conf.hosts(LAND)
    assert conf.access_rights == (AccessRight(LAND, CIVIL, "getPerson"),
                                  AccessRight(LAND, CIVIL, "getAddress"))
    assert conf.service(ServiceId.parse("MN/GOV/GASR/civil/getPerson/v1")).url.endswith("/soap")
    with pytest.raises(UnknownService):
        conf.service(ServiceId.parse("MN/GOV/GASR/civil/getAddress"))


def test_minimal_conf_has_no_clients_services_or_rights():
    conf = parse('server_id = "MN/GOV/GASR/ss1"')
    assert (conf.clients, conf.services, conf.access_rights) == ((), (), ())


MALFORMED = {
    "not-toml": "server_id = ",
    "no-server-id": "[[clients]]\nid = \"MN/GOV/GASR\"",
    "bad-server-id": 'server_id = "MN/GOV/GASR"',
    "bad-audit-bodies-flag": 'server_id = "MN/GOV/GASR/ss1"\n[[clients]]\nid = "MN/GOV/GASR/c"'
                             '\naudit_bodies = "yes"',
    "bad-client": 'server_id = "MN/GOV/GASR/ss1"\n[[clients]]\nid = "MN/GOV"',
    "bad-service-type": ('server_id = "MN/GOV/GASR/ss1"\n[[services]]\nprovider = "MN/GOV/GASR/c"'
                         '\ncode = "x"\ntype = "GRPC"\nurl = "http://x"'),
    "bad-timeout": ('server_id = "MN/GOV/GASR/ss1"\n[[services]]\nprovider = "MN/GOV/GASR/c"'
                    '\ncode = "x"\ntype = "REST"\nurl = "http://x"\ntimeout_s = "soon"'),
    "access-without-services": ('server_id = "MN/GOV/GASR/ss1"\n[[access]]\n'
                                'subject = "MN/GOV/A"\nprovider = "MN/GOV/GASR/c"'),
    "bad-access-subject": ('server_id = "MN/GOV/GASR/ss1"\n[[access]]\nsubject = "MN GOV A"\n'
                           'provider = "MN/GOV/GASR/c"\nservices = ["x"]'),
}


def test_url_outside_the_bmp_round_trips():
    service = ServiceDescription(CIVIL, "persons", ServiceType.REST, "http://127.0.0.1/\U0001d4d0")
    conf = ServerConf(CONF.server_id, (), (service,), ())
    assert parse(render(conf)) == conf


def test_url_with_delete_character_round_trips():
    service = ServiceDescription(CIVIL, "persons", ServiceType.REST, "http://127.0.0.1/a\x7fb")
    conf = ServerConf(CONF.server_id, (), (service,), ())
    assert parse(render(conf)) == conf


@pytest.mark.parametrize("text", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_serverconf(text):
    with pytest.raises(InvalidMessage, match="serverconf"):
        parse(text)


ident = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'()+,-.=?",
                min_size=1, max_size=8)
# Any text a Python str can carry into a UTF-8 file (lone surrogates cannot), controls included.
url_chars = st.characters(exclude_categories=("Cs",))
clients = st.builds(ClientId, ident, ident, ident, st.none() | ident)
subjects = clients | st.builds(GlobalGroupId, ident, ident) | st.builds(LocalGroupId, ident)
endpoints = st.none() | st.builds(Endpoint, st.sampled_from(["GET", "POST", "*"]),
                                  st.text(url_chars, max_size=20).map(lambda p: "/" + p))


@given(
    server=st.builds(SecurityServerId, st.builds(ClientId, ident, ident, ident), ident),
    hosted=st.lists(clients, max_size=3).map(tuple),
    services=st.lists(st.builds(ServiceDescription, clients, ident, st.sampled_from(ServiceType),
                                st.text(url_chars, max_size=30),
                                st.floats(0.001, 3600, allow_nan=False)), max_size=3).map(tuple),
    rights=st.lists(st.builds(AccessRight, subjects, clients, ident, endpoints),
                    max_size=5).map(tuple),
    local_groups=st.lists(st.tuples(ident, st.frozensets(clients, max_size=3)),
                          max_size=2).map(tuple),
)
def test_any_serverconf_round_trips(server, hosted, services, rights, local_groups):
    conf = ServerConf(server, hosted, services, rights, local_groups)
    parsed = parse(render(conf))
    assert (parsed.server_id, parsed.clients, parsed.services, parsed.local_groups) == (
        server, hosted, services, local_groups)
    # The order of access rights carries no meaning, so it is not part of the contract.
    assert sorted(parsed.access_rights, key=repr) == sorted(rights, key=repr)
