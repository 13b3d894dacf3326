"""The client a request comes from, as the provider's security server names it.

The security server has already authenticated the client and checked its access right; the
adapter is reachable only from it, so the identifier it passes on (`X-Road-Client` for REST,
the `xrd:client` header for SOAP) is trusted here and only has to be read. Registries decide
per client which fields to disclose; `rule_for` is the shared lookup order.

A malformed identifier is the same error in every registry and over both protocols:
`InvalidClientIdentifier`, the code the security server itself uses for it (a
`Client.InvalidClientIdentifier` SOAP fault, or HTTP 400 with that `type`).
"""

from collections.abc import Mapping
from typing import Any, Final, TypeVar

from adapters.toolkit.errors import InvalidRequest
from adapters.toolkit.soap import SoapRequest
from xroad.errors import InvalidClientIdentifier, InvalidMessage
from xroad.identifiers import ClientId
from xroad.messages.soap import parse_client_id
from xroad.messages.xml import XROAD_NS

CLIENT_HEADER: Final = "X-Road-Client"
ISSUE_HEADER: Final = "X-Road-Issue"
_T = TypeVar("_T")


class InvalidClient(InvalidRequest):
    """The client identifier the security server passed on cannot be read."""

    code = "InvalidClientIdentifier"


def client_from_header(value: str | None) -> ClientId | None:
    """The client named by a REST `X-Road-Client` header, None when called without the bus."""
    if value is None:
        return None
    try:
        return ClientId.parse(value.strip())
    except InvalidClientIdentifier as e:
        message = f"{CLIENT_HEADER} {value[:100]!r} is not a client identifier: {e}"
        raise InvalidClient(message) from e


def purpose_from_header(value: str | None) -> str | None:
    """The purpose a REST `X-Road-Issue` header states, as the client wrote it.

    HTTP frameworks decode header bytes as Latin-1, but a purpose is stated in Mongolian and
    sent as UTF-8 bytes; a value that is not UTF-8 is taken as it came.
    """
    if value is None:
        return None
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


def client_from_soap(request: SoapRequest) -> ClientId | None:
    """The client named by the request's `xrd:client` header, if it has one."""
    for element in request.headers:
        if element.tag == f"{{{XROAD_NS}}}client":
            try:
                return parse_client_id(element)
            except InvalidMessage as e:
                raise InvalidClient(f"malformed client header: {e}") from e
    return None


def rule_for(rules: Mapping[Any, _T], client: ClientId) -> _T | None:
    """The rule for `client`'s subsystem, else for its member, else None.

    Rules may be keyed by `ClientId` or by its string form (as settings files write them).
    """
    for key in (client, client.member):
        for spelling in (key, str(key)):
            if spelling in rules:
                return rules[spelling]
    return None
