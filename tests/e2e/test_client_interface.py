"""Client-facing protocol details: server targeting, error formats, charsets, limits."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.e2e.demo import RunningDemo
from tests.e2e.test_exchange import PERSON_PATH, PORTAL, assert_rest_fault, client_url
from xroad.cli.demo import DEMO_PERSON, SOAP_EXAMPLE
from xroad.limits import Limits
from xroad.messages.soap import parse_soap
from xroad.messages.xml import parse_untrusted

pytestmark = pytest.mark.e2e


def get(demo: RunningDemo, **headers: str) -> httpx.Response:
    return httpx.get(client_url(demo) + PERSON_PATH, timeout=30,
                     headers={"X-Road-Client": PORTAL, **headers})


def test_pinned_provider_server(demo: RunningDemo) -> None:
    assert get(demo, **{"X-Road-Security-Server": "MN/GOV/GASR/ss1"}).status_code == 200
    other = get(demo, **{"X-Road-Security-Server": "MN/GOV/EMONGOLIA/ss1"})
    assert_rest_fault(demo, other, 400, "Client.InvalidSecurityServer")
    bad = get(demo, **{"X-Road-Security-Server": "MN/GOV/GASR"})
    assert_rest_fault(demo, bad, 400, "Client.InvalidSecurityServer")


def test_errors_follow_accept(demo: RunningDemo) -> None:
    reply = httpx.get(client_url(demo) + PERSON_PATH, timeout=30,
                      headers={"Accept": "application/xml"})
    assert reply.status_code == 400
    assert reply.headers["content-type"] == "application/xml"
    root = parse_untrusted(reply.content, Limits())
    assert root.findtext("type") == "Client.BadRequest"
    assert root.findtext("detail") in demo.log("ss-MN_GOV_EMONGOLIA_ss1")


def soap(person: str = DEMO_PERSON) -> str:
    return SOAP_EXAMPLE.format(person=person).replace("demo-0001", str(uuid.uuid4()))


@pytest.mark.parametrize(("encoding", "bom"), [("utf-8", b"\xef\xbb\xbf"), ("utf-16", b"")],
                         ids=["utf-8-bom", "utf-16"])
def test_declared_charsets_and_bom(demo: RunningDemo, encoding: str, bom: bytes) -> None:
    text = soap().replace('encoding="UTF-8"', f'encoding="{encoding.upper()}"')
    raw = bom + text.encode(encoding)
    reply = httpx.post(client_url(demo) + "/", content=raw, timeout=30,
                       headers={"Content-Type": f"text/xml; charset={encoding}"})
    assert reply.status_code == 200, reply.text
    answer = parse_soap(reply.content, reply.headers["content-type"], Limits())
    assert not answer.is_fault


def test_soap_security_server_header_is_honoured_and_echoed(demo: RunningDemo) -> None:
    pinned = soap().replace("<xrd:id>", (
        '<xrd:securityServer id:objectType="SERVER"><id:xRoadInstance>MN</id:xRoadInstance>'
        "<id:memberClass>GOV</id:memberClass><id:memberCode>GASR</id:memberCode>"
        "<id:serverCode>ss1</id:serverCode></xrd:securityServer><xrd:id>"), 1)
    reply = httpx.post(client_url(demo) + "/", content=pinned.encode(), timeout=30,
                       headers={"Content-Type": "text/xml; charset=utf-8"})
    assert reply.status_code == 200, reply.text
    assert b"<id:serverCode>ss1</id:serverCode>" in reply.content


def test_body_over_the_limit_is_refused_unread(demo: RunningDemo) -> None:
    reply = httpx.post(client_url(demo) + PERSON_PATH, timeout=60,
                       content=b"x" * (Limits().max_body_bytes + 1),
                       headers={"X-Road-Client": PORTAL})
    assert_rest_fault(demo, reply, 400, "Client.InvalidMessage")


def test_security_token_and_represented_party_travel_and_are_echoed(demo: RunningDemo) -> None:
    extensions = (
        '<tok:securityToken xmlns:tok="http://x-road.eu/xsd/security-token.xsd" '
        'tokenType="urn:ietf:params:oauth:token-type:jwt">eyJhbGciOi.e30.sig</tok:securityToken>'
        '<repr:representedParty xmlns:repr="http://x-road.eu/xsd/representation.xsd">'
        '<repr:partyClass>COM</repr:partyClass><repr:partyCode>1234567</repr:partyCode>'
        '</repr:representedParty><xrd:id>')
    body = soap().replace("<xrd:id>", extensions, 1)
    reply = httpx.post(client_url(demo) + "/", content=body.encode(), timeout=30,
                       headers={"Content-Type": "text/xml; charset=utf-8"})
    assert reply.status_code == 200, reply.text
    assert b"eyJhbGciOi.e30.sig</tok:securityToken>" in reply.content
    answer = parse_soap(reply.content, reply.headers["content-type"], Limits())
    assert answer.header is not None
    assert answer.header.represented_party == "COM/1234567"
