"""Shared strategies and helpers of the codec fuzz tests."""

import json
import os
from collections.abc import Callable, Sequence
from typing import Any, Final

from hypothesis import HealthCheck, reject, settings
from hypothesis import strategies as st

from xroad import errors
from xroad.cli.demo import SOAP_EXAMPLE
from xroad.identifiers import ClientId, ServiceId
from xroad.limits import Limits
from xroad.messages.rest import RestRequest

FUZZ: Final = settings(max_examples=int(os.environ.get("XROAD_FUZZ_EXAMPLES", "200")),
                       deadline=None,
                       suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
LIMITS: Final = Limits()
SOAP_CT: Final = "text/xml; charset=UTF-8"
GASR: Final = "MN/GOV/GASR"


def known_escape(error: Exception) -> bool:
    """Open bugs that random inputs hit; each is pinned by a strict xfail test beside its case.
    Add a line here for a new one (and remove it when its xfail starts to pass); none is open."""
    del error
    return False


def refused_only(family: type[errors.XRoadError] | tuple[type[errors.XRoadError], ...],
                 call: Callable[..., Any], *args: Any) -> Any:
    """`call(*args)`, or None if it refused with its own `family`; anything else propagates
    and fails the property (an unhandled exception skips the fault table: anonymous 500)."""
    try:
        return call(*args)
    except family:
        return None
    except Exception as error:
        if known_escape(error):
            reject()
        raise


# -- mutation strategies -------------------------------------------------------------------

@st.composite
def mutated(draw: st.DrawFn, seed: bytes, tokens: Sequence[bytes] = ()) -> bytes:
    """`seed` with 1-5 edits: bit flips, bytes set, inserted, deleted, slices duplicated
    (repeated headers, parts, chunks), truncation, and syntax tokens spliced in."""
    data = bytearray(seed)
    kinds = ["flip", "set", "insert", "delete", "copy", "truncate"] + ["token"] * 3 * bool(tokens)
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(kinds))
        at = draw(st.integers(0, len(data)))
        if kind == "flip" and at < len(data):
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 16))]
        elif kind == "copy":
            start = draw(st.integers(0, len(data)))
            data[at:at] = data[start:start + draw(st.integers(1, 400))]
        elif kind == "truncate":
            del data[at:]
        elif kind == "token":
            data[at:at] = draw(st.sampled_from(tokens))
    return bytes(data)


def variants(seeds: Sequence[bytes], tokens: Sequence[bytes] = ()) -> st.SearchStrategy[bytes]:
    """Random bytes, or one of `seeds` mutated."""
    return st.binary(max_size=400) | st.sampled_from(list(seeds)).flatmap(
        lambda seed: mutated(seed, tokens))


XML_TOKENS: Final = (
    b"<", b">", b"</", b"/>", b"&", b"&amp;", b"&#0;", b"&#x110000;", b"&e;", b"<![CDATA[",
    b"]]>", b"<!--", b"-->", b"<?pi x?>", b"<!DOCTYPE r>",
    b"<!DOCTYPE r [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>", b'xmlns:x="urn:x"',
    b'xmlns=""', b'xmlns:id=""', b"\x00", b"\xff\xfe", b"\xef\xbb\xbf", b'"', b"'",
    b'<?xml version="1.0" encoding="UTF-16"?>', b'id:objectType="MEMBER"',
    b"<xrd:client/>", b"<xrd:protocolVersion>4.0</xrd:protocolVersion>",
    b"<SOAP-ENV:Fault/>", b"<SOAP-ENV:Header/>", b"<SOAP-ENV:Body/>",
)
JSON_TOKENS: Final = (b'"', b"\\", b"\\u0000", b'"\\ud800"', b"{", b"}", b"[", b"]", b",",
                      b":", b"null", b"true", b"-0", b"1e999", b"\xff", b"\xed\xa0\x80")

DEMO: Final = SOAP_EXAMPLE.format(person="УБ99112233").encode()

REST_REQUEST: Final = RestRequest(
    method="GET", service=ServiceId.parse("MN/GOV/GASR/civil-registry/persons"),
    path="/%D0%A3%D0%9199112233", query="fields=name&x=%20", client=ClientId.parse(
        "MN/GOV/EMONGOLIA/portal"), message_id="demo-0001", user_id="MNУБ99112233",
    issue="citizen portal", represented_party="COM/1234567",
    headers=(("Accept", "application/json"), ("X-Custom", "Бат")))
REST_DOC: Final = json.loads(REST_REQUEST.encode())
