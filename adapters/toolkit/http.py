"""HTTP edges shared by adapters: bounded request bodies and SOAP responses.

A body is read chunk by chunk and abandoned as soon as it passes the limit, so a client
that sends (or announces) gigabytes costs the registry no more than the limit in memory.
"""

from starlette.requests import Request
from starlette.responses import Response

from adapters.toolkit.soap import SOAP_CONTENT_TYPE
from xroad.errors import MessageTooLarge


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The request body, or `MessageTooLarge` once it exceeds `max_bytes`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise MessageTooLarge(f"request body larger than {max_bytes} bytes")
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > max_bytes:
            raise MessageTooLarge(f"request body larger than {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def soap_response(envelope: bytes, *, fault: bool = False) -> Response:
    """A SOAP answer; faults go with HTTP 500, as SOAP 1.1 over HTTP requires."""
    return Response(envelope, status_code=500 if fault else 200, media_type=SOAP_CONTENT_TYPE)
