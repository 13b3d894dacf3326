"""parse_untrusted: the one door for XML refuses DTDs, entities, oversize and garbage."""

import pytest

from xroad.errors import InvalidMessage
from xroad.limits import Limits
from xroad.messages.xml import parse_untrusted

LIMITS = Limits()

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<r>&xxe;</r>"""
XXE_PARAMETER = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:1/evil.dtd"> %p;]>
<r/>"""
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>"""
DOCTYPE_ONLY = b'<?xml version="1.0"?>\n<!DOCTYPE r>\n<r/>'
DOCTYPE_EXTERNAL_DTD = b'<!DOCTYPE r SYSTEM "http://127.0.0.1:1/r.dtd"><r/>'


def _utf16(doc: bytes) -> bytes:
    return doc.decode().replace('<?xml version="1.0"?>',
                                '<?xml version="1.0" encoding="UTF-16"?>').encode("utf-16")


REFUSED = {
    "xxe-system-entity": XXE,
    "xxe-parameter-entity": XXE_PARAMETER,
    "billion-laughs": BILLION_LAUGHS,
    "doctype-without-entities": DOCTYPE_ONLY,
    "doctype-external-dtd": DOCTYPE_EXTERNAL_DTD,
    # The byte-level check cannot see "<!DOCTYPE" in UTF-16; the docinfo check must.
    "xxe-utf16": _utf16(XXE),
    "billion-laughs-utf16": _utf16(BILLION_LAUGHS),
    "doctype-utf16": _utf16(DOCTYPE_ONLY),
    "malformed-unclosed": b"<r><a></r>",
    "malformed-two-roots": b"<a/><b/>",
    "malformed-empty": b"",
    "malformed-text": b"not xml",
    "malformed-undefined-entity": b"<r>&undefined;</r>",
    "malformed-bad-utf8": b'<?xml version="1.0" encoding="UTF-8"?><r>\xff\xfe</r>',
    "malformed-undeclared-prefix": b"<x:r/>",
}


@pytest.mark.parametrize("data", REFUSED.values(), ids=REFUSED.keys())
def test_refused_input_raises_invalid_message(data):
    with pytest.raises(InvalidMessage):
        parse_untrusted(data, LIMITS)


@pytest.mark.parametrize(("size", "accepted"), [
    pytest.param(63, True, id="below-limit"),
    pytest.param(64, True, id="at-limit"),
    pytest.param(65, False, id="one-over-limit"),
])
def test_size_limit(size, accepted):
    data = b"<r>" + b"x" * (size - 7) + b"</r>"
    assert len(data) == size
    if accepted:
        assert parse_untrusted(data, Limits(max_xml_bytes=64)).tag == "r"
    else:
        with pytest.raises(InvalidMessage, match="larger than 64"):
            parse_untrusted(data, Limits(max_xml_bytes=64))


ACCEPTED = {
    "plain": (b"<r>\xd0\x91</r>", "Б"),
    "utf8-bom": (b"\xef\xbb\xbf<r>\xd0\x91</r>", "Б"),
    "utf8-bom-and-declaration": (
        b'\xef\xbb\xbf<?xml version="1.0" encoding="UTF-8"?><r>\xd0\x91</r>', "Б"),
    "utf16-declared": ('<?xml version="1.0" encoding="UTF-16"?><r>Б</r>'.encode("utf-16"), "Б"),
    "utf16-le-bom": ('<?xml version="1.0" encoding="UTF-16"?><r>Б</r>'.encode("utf-16-le")
                     .join([b"\xff\xfe", b""]), "Б"),
    "predefined-entity": (b"<r>&lt;&amp;</r>", "<&"),
    "character-reference": (b"<r>&#1041;</r>", "Б"),
}


@pytest.mark.parametrize(("data", "text"), ACCEPTED.values(), ids=ACCEPTED.keys())
def test_accepted_documents(data, text):
    assert parse_untrusted(data, LIMITS).text == text
