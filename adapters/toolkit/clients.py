"""The client a request comes from, as the provider's security server names it.

The security server has already authenticated the client and checked its access right; the
adapter is reachable only from it, so the identifier it passes on (`X-Road-Client` for REST,
the `xrd:client` header for SOAP) is trusted here and only has to be read. Registries decide
per client which fields to disclose; `rule_for` is the shared lookup order.
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
_T = TypeVar("_T")


def client_from_header(
    value: str | None, *, error: type[InvalidRequest] = InvalidRequest
) -> ClientId | None:
    """The client named by a REST `X-Road-Client` header, None when called without the bus.

    A malformed identifier raises `error` (a registry may give it its own code).
    """
    if value is None:
        return None
    try:
        return ClientId.parse(value.strip())
    except InvalidClientIdentifier as e:
        raise error(f"{CLIENT_HEADER} {value[:100]!r} is not a client identifier: {e}") from e


def client_from_soap(
    request: SoapRequest, *, error: type[InvalidRequest] | None = InvalidRequest
) -> ClientId | None:
    """The client named by the request's `xrd:client` header, if it has one.

    A malformed header raises `error`, or with `error=None` the bus's own
    `InvalidMessage` (a plain `Client` fault).
    """
    for element in request.headers:
        if element.tag == f"{{{XROAD_NS}}}client":
            try:
                return parse_client_id(element)
            except InvalidMessage as e:
                if error is None:
                    raise
                raise error(f"malformed client header: {e}") from e
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
