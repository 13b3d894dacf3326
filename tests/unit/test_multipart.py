"""multipart/mixed between security servers: exact bytes round-trip, anything odd is refused."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xroad.errors import InvalidMessage
from xroad.messages.multipart import MAX_PARTS, Part, StreamDecoder, decode, encode

PARTS = [Part("text/xml; charset=UTF-8", b"<r/>"), Part("application/octet-stream", b"\x00\xff")]

content_types = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E),
                        min_size=1, max_size=40)
# Bytes biased towards the sequences a naive splitter trips on.
tricky = st.lists(st.sampled_from([b"\r\n", b"--", b"\r\n--", b"--\r\n", b"\r\n\r\n",
                                   b"Content-Type: x\r\n", b"boundary="]) | st.binary(max_size=8),
                  max_size=12).map(b"".join)
data = st.binary(max_size=200) | tricky


@given(st.lists(st.builds(Part, content_types, data), min_size=1, max_size=MAX_PARTS))
def test_round_trip(parts):
    content_type, body = encode(parts)
    assert decode(content_type, body) == parts


def test_encoding_shape():
    content_type, body = encode(PARTS)
    boundary = content_type.split("boundary=")[1]
    assert content_type.startswith("multipart/mixed; boundary=")
    assert body.startswith(f"--{boundary}\r\nContent-Type: text/xml; charset=UTF-8\r\n\r\n<r/>"
                           .encode())
    assert body.endswith(f"\r\n--{boundary}--\r\n".encode())


def test_boundary_is_fresh_per_message():
    assert encode(PARTS)[0] != encode(PARTS)[0]


def test_quoted_boundary_and_missing_final_crlf_are_accepted():
    content_type, body = encode(PARTS)
    boundary = content_type.split("boundary=")[1]
    assert decode(f'multipart/mixed; boundary="{boundary}"', body) == PARTS
    assert decode(content_type, body.removesuffix(b"\r\n")) == PARTS


def test_content_type_must_be_one_line():
    with pytest.raises(ValueError, match="one line"):
        encode([Part("text/xml\r\nX-Evil: 1", b"")])


def _body(*segments: bytes, boundary: bytes = b"b1") -> bytes:
    return b"".join(b"--" + boundary + b"\r\n" + s + b"\r\n" for s in segments) + (
        b"--" + boundary + b"--\r\n")


VALID = _body(b"Content-Type: text/xml\r\n\r\n<r/>")

REFUSED = {
    "not-multipart": ("text/xml", VALID),
    "multipart-related": ("multipart/related; boundary=b1", VALID),
    "missing-boundary": ("multipart/mixed", VALID),
    "empty-boundary": ("multipart/mixed; boundary=", VALID),
    "other-boundary": ("multipart/mixed; boundary=b2", VALID),
    "preamble": ("multipart/mixed; boundary=b1", b"preamble\r\n" + VALID),
    "truncated-no-close": ("multipart/mixed; boundary=b1", VALID[:VALID.rindex(b"--b1--")]),
    "truncated-mid-part": ("multipart/mixed; boundary=b1", VALID[:20]),
    "epilogue": ("multipart/mixed; boundary=b1", VALID + b"trailing"),
    "empty-body": ("multipart/mixed; boundary=b1", b""),
    "no-parts": ("multipart/mixed; boundary=b1", b"--b1--\r\n"),
    "part-without-header": ("multipart/mixed; boundary=b1", _body(b"<r/>")),
    "header-not-content-type": (
        "multipart/mixed; boundary=b1", _body(b"Content-Length: 4\r\n\r\n<r/>")),
    "extra-header": ("multipart/mixed; boundary=b1",
                     _body(b"Content-Type: text/xml\r\nContent-Id: <a>\r\n\r\n<r/>")),
    "extra-header-first": ("multipart/mixed; boundary=b1",
                           _body(b"Content-Id: <a>\r\nContent-Type: text/xml\r\n\r\n<r/>")),
    "header-without-colon": ("multipart/mixed; boundary=b1", _body(b"Content-Type\r\n\r\n<r/>")),
    "too-many-parts": ("multipart/mixed; boundary=b1",
                       _body(*[b"Content-Type: a\r\n\r\nx"] * (MAX_PARTS + 1))),
}


@pytest.mark.parametrize(("content_type", "body"), REFUSED.values(), ids=REFUSED.keys())
def test_refused(content_type, body):
    with pytest.raises(InvalidMessage):
        decode(content_type, body)


def test_maximum_number_of_parts_is_accepted():
    parts = [Part("a", str(i).encode()) for i in range(MAX_PARTS)]
    assert decode(*encode(parts)) == parts


def test_too_many_parts_from_encode_are_refused():
    with pytest.raises(InvalidMessage, match=str(MAX_PARTS)):
        decode(*encode([Part("a", b"x")] * (MAX_PARTS + 1)))


def test_hand_written_body_decodes():
    assert decode("Multipart/Mixed; boundary=b1", VALID) == [Part("text/xml", b"<r/>")]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(max_size=2000), min_size=1, max_size=4),
       st.integers(min_value=1, max_value=500))
def test_stream_decoder_matches_decode_for_any_chunking(datas, step):
    parts = [Part("application/x-test", d) for d in datas]
    content_type, body = encode(parts)
    decoder = StreamDecoder(content_type)
    for i in range(0, len(body), step):
        decoder.feed(body[i:i + step])
    assert decoder.finish() == decode(content_type, body) == parts


@pytest.mark.parametrize("cut", [1, 10, -3, -1], ids=["start", "header", "before-end", "end"])
def test_stream_decoder_refuses_a_truncated_body(cut):
    content_type, body = encode([Part("a/b", b"payload"), Part("c/d", b"more")])
    decoder = StreamDecoder(content_type)
    decoder.feed(body[:cut] if cut > 0 else body[:cut - 2])
    with pytest.raises(InvalidMessage):
        decoder.finish()
