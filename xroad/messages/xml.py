"""The one door for untrusted XML: no DTDs, no entities, no network, bounded size."""

import io
from typing import Final

from lxml import etree

from xroad.errors import InvalidMessage, MessageTooLarge
from xroad.limits import Limits

SOAP_ENV_NS: Final = "http://schemas.xmlsoap.org/soap/envelope/"
XROAD_NS: Final = "http://x-road.eu/xsd/xroad.xsd"
IDENTIFIERS_NS: Final = "http://x-road.eu/xsd/identifiers"
REPRESENTATION_NS: Final = "http://x-road.eu/xsd/representation.xsd"


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
    )


MAX_DEPTH = 256  # as libxml2 enforces without huge_tree


def _parse_long_text(data: bytes) -> etree._Element:
    """Messages within our size limit may hold one text node over libxml2's 10,000,000
    characters (inline base64 without MTOM). Parse those with `huge_tree`, which also lifts
    libxml2's depth bound, so the depth is bounded here instead, while parsing."""
    depth = 0
    events = etree.iterparse(io.BytesIO(data), events=("start", "end"), resolve_entities=False,
                             no_network=True, load_dtd=False, huge_tree=True)
    try:
        for event, _ in events:
            depth += 1 if event == "start" else -1
            if depth > MAX_DEPTH:
                raise InvalidMessage(f"XML nested deeper than {MAX_DEPTH} levels")
    except etree.XMLSyntaxError as e:
        raise InvalidMessage(f"XML is not well-formed: {e.msg}") from e
    root: etree._Element = events.root
    return root


def parse_untrusted(data: bytes, limits: Limits) -> etree._Element:
    """Parse XML received from outside; refuse DTDs (XXE, entity bombs) and oversized input.

    Depth is bounded by libxml2 itself at 256 levels as long as `huge_tree` stays off (tested).
    """
    if len(data) > limits.max_xml_bytes:
        raise MessageTooLarge(f"XML larger than {limits.max_xml_bytes} bytes")
    if b"<!DOCTYPE" in data:  # cheap early refusal; the docinfo check below covers other encodings
        raise InvalidMessage("DOCTYPE is not accepted")
    try:
        root = etree.fromstring(data, _parser())  # noqa: TID251 - this is the one door
    except etree.XMLSyntaxError as e:
        if "Text node too long" not in (e.msg or ""):
            raise InvalidMessage(f"XML is not well-formed: {e.msg}") from e
        root = _parse_long_text(data)
    doctype = getattr(root.getroottree().docinfo, "doctype", "")  # not in lxml-stubs
    if doctype:
        raise InvalidMessage("DOCTYPE is not accepted")
    return root
