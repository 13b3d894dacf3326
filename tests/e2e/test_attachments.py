"""SOAP with Attachments and MTOM pass through both security servers intact.

A small SOAP service in the test process stands in for a provider that works with
attachments: it answers with the request's attachments, reversed, so the test can check
every byte and MIME header in both directions.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Iterator
from copy import deepcopy

import httpx
import pytest
from aiohttp import web
from lxml import etree

from tests.e2e import stub_provider
from tests.e2e.demo import RunningDemo
from tests.e2e.stub_provider import serve
from tests.e2e.test_exchange import PORTAL, client_url
from xroad.cli.demo import DEMO_PERSON, SOAP_EXAMPLE
from xroad.limits import Limits
from xroad.messages import mime
from xroad.messages.soap import parse_soap
from xroad.messages.xml import SOAP_ENV_NS, parse_untrusted

pytestmark = pytest.mark.e2e

PROVIDER = "MN/GOV/GASR/ss1"
SERVICE_CODE = "echoAttachments"
BOUNDARY = "MIME_boundary_" + uuid.uuid4().hex
ATTACHMENT = bytes(range(256)) * 300 + b"\r\n--not-the-boundary\r\n"


def _answer(content_type: str, body: bytes) -> tuple[str, bytes]:
    parts = mime.split(content_type, body)
    soap_bytes, _ = mime.soap_of(content_type, body)
    request = parse_untrusted(soap_bytes, Limits())
    envelope = etree.Element(f"{{{SOAP_ENV_NS}}}Envelope", nsmap={"SOAP-ENV": SOAP_ENV_NS})
    header = etree.SubElement(envelope, f"{{{SOAP_ENV_NS}}}Header")
    for child in request.find(f"{{{SOAP_ENV_NS}}}Header"):
        header.append(deepcopy(child))
    answer = etree.SubElement(etree.SubElement(envelope, f"{{{SOAP_ENV_NS}}}Body"),
                              f"{{urn:test}}{SERVICE_CODE}Response")
    etree.SubElement(answer, "{urn:test}count").text = str(len(parts) - 1)
    out = [b"--" + BOUNDARY.encode(), b"Content-Type: text/xml; charset=UTF-8", b"",
           etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")]
    for part in parts[1:]:
        out += [b"--" + BOUNDARY.encode(),
                *(f"{k}: {v}".encode() for k, v in part.headers), b"",
                body[part.start:part.end][::-1]]
    out.append(b"--" + BOUNDARY.encode() + b"--")
    return f'multipart/related; type="text/xml"; boundary="{BOUNDARY}"', b"\r\n".join(out)


async def _handle(request: web.Request) -> web.Response:
    content_type, body = _answer(request.headers["Content-Type"], await request.read())
    return web.Response(body=body, headers={"Content-Type": content_type})


@pytest.fixture(scope="module")
def registered(demo: RunningDemo) -> Iterator[None]:
    with serve("/soap", _handle) as base, stub_provider.registered(demo, PROVIDER, (
            f'[[services]]\nprovider = "MN/GOV/GASR/civil-registry"\ncode = "{SERVICE_CODE}"\n'
            f'type = "SOAP"\nurl = "{base}/soap"\ntimeout_s = 60.0\n\n[[access]]\n'
            f'subject = "{PORTAL}"\nprovider = "MN/GOV/GASR/civil-registry"\n'
            f'service = "{SERVICE_CODE}"\n')):
        yield


def _request(root_type: str, attachment_headers: list[str]) -> tuple[str, bytes, bytes]:
    envelope = (SOAP_EXAMPLE.format(person=DEMO_PERSON)
                .replace("demo-0001", str(uuid.uuid4()))
                .replace("<id:serviceCode>getPerson</id:serviceCode><id:serviceVersion>v1"
                         "</id:serviceVersion>", f"<id:serviceCode>{SERVICE_CODE}</id:serviceCode>")
                .replace("civ:getPerson", f"civ:{SERVICE_CODE}")).encode()
    body = b"\r\n".join([
        b"--" + BOUNDARY.encode(), f"Content-Type: {root_type}".encode(),
        b"Content-Transfer-Encoding: 8bit", b"Content-ID: <root@example>", b"", envelope,
        b"--" + BOUNDARY.encode(), *(h.encode() for h in attachment_headers), b"", ATTACHMENT,
        b"--" + BOUNDARY.encode() + b"--", b""])
    return f'multipart/related; type="text/xml"; boundary="{BOUNDARY}"', body, envelope


@pytest.mark.parametrize(("root_type", "http_type"), [
    ("text/xml; charset=UTF-8", 'multipart/related; type="text/xml"'),
    ('application/xop+xml; charset=UTF-8; type="text/xml"',
     'multipart/related; type="application/xop+xml"; start-info="text/xml"'),
], ids=["swa", "mtom"])
def test_attachments_travel_intact_both_ways(demo: RunningDemo, registered: None,
                                             root_type: str, http_type: str) -> None:
    headers = ["Content-Type: application/octet-stream", "Content-ID: <photo@example>",
               "Content-Transfer-Encoding: binary", "X-Custom: kept"]
    _, body, envelope = _request(root_type, headers)
    content_type = f'{http_type}; boundary="{BOUNDARY}"'
    reply = httpx.post(client_url(demo) + "/", content=body, timeout=60,
                       headers={"Content-Type": content_type})
    assert reply.status_code == 200, reply.text[:500]
    answer_type = reply.headers["content-type"]
    assert mime.is_multipart_related(answer_type)
    parts = mime.split(answer_type, reply.content)
    assert len(parts) == 2
    attachment = parts[1]
    assert reply.content[attachment.start:attachment.end] == ATTACHMENT[::-1]
    assert [f"{k}: {v}" for k, v in attachment.headers] == headers
    soap_bytes, soap_type = mime.soap_of(answer_type, reply.content)
    answer = parse_soap(soap_bytes, soap_type, Limits())
    # requestHash covers the request's SOAP part only, as X-Road defines it.
    assert answer.request_hash == base64.b64encode(hashlib.sha512(envelope).digest()).decode()


@pytest.mark.parametrize("body", [
    b"no boundary here",
    f"--{BOUNDARY}\r\nContent-Type: image/png\r\n\r\nxx\r\n--{BOUNDARY}--".encode(),
    f"--{BOUNDARY}\r\nContent-Type: text/xml\r\n\r\n<a/>\r\n".encode(),
], ids=["no-parts", "soap-part-not-first", "truncated"])
def test_malformed_multipart_is_a_client_fault(demo: RunningDemo, body: bytes) -> None:
    reply = httpx.post(client_url(demo) + "/", content=body, timeout=30, headers={
        "Content-Type": f'multipart/related; type="text/xml"; boundary="{BOUNDARY}"'})
    assert reply.status_code == 500
    assert b"<faultcode>Client.InvalidMessage</faultcode>" in reply.content
