"""X-Road SOAP 4.0 envelopes as a provider information system sees them.

PR-MESS requires the service to copy every request header into its response in the same
order with the same values (the prefix may differ, the namespace may not); the client's
security server refuses a response whose headers differ (`InconsistentHeaders`). Headers are
therefore kept as the received elements and deep-copied into the response, never rebuilt from
parsed values. The security server has already checked the headers themselves; here only the
envelope's shape and the body wrapper's name (which must equal `service/serviceCode`) matter.
"""

from collections.abc import Iterable, Mapping, Sequence
from copy import deepcopy
from dataclasses import dataclass
from typing import Final, TypeVar

from lxml import etree

from adapters.toolkit.errors import AdapterError, InvalidRequest
from xroad.errors import InvalidSoap
from xroad.limits import Limits
from xroad.messages.xml import IDENTIFIERS_NS, SOAP_ENV_NS, XROAD_NS, parse_untrusted

SOAP_CONTENT_TYPE: Final = "text/xml; charset=utf-8"

_ENVELOPE: Final = f"{{{SOAP_ENV_NS}}}Envelope"
_HEADER: Final = f"{{{SOAP_ENV_NS}}}Header"
_BODY: Final = f"{{{SOAP_ENV_NS}}}Body"
_FAULT: Final = f"{{{SOAP_ENV_NS}}}Fault"
_ENV_PREFIX: Final = "SOAP-ENV"  # as in the PR-MESS examples; any prefix is equally valid
_Handler = TypeVar("_Handler")


@dataclass(frozen=True, slots=True)
class SoapRequest:
    """A parsed request: its header elements, in order, and the body's wrapper element."""

    headers: tuple[etree._Element, ...]
    body: etree._Element

    @property
    def service_code(self) -> str:
        """The wrapper's local name, which X-Road makes equal to the service code."""
        return etree.QName(self.body).localname

    @property
    def namespace(self) -> str | None:
        """The wrapper's namespace, i.e. the service's target namespace in its WSDL."""
        return etree.QName(self.body).namespace

    def header_text(self, name: str) -> str | None:
        """Text of the first `xrd:{name}` header (e.g. `id`, `userId`), for logging."""
        for element in self.headers:
            if element.tag == f"{{{XROAD_NS}}}{name}":
                return element.text
        return None


def _children(element: etree._Element) -> list[etree._Element]:
    """Element children only: comments and processing instructions carry no meaning."""
    return [child for child in element if isinstance(child.tag, str)]


def _service_code_in(headers: Sequence[etree._Element]) -> str | None:
    for element in headers:
        if element.tag == f"{{{XROAD_NS}}}service":
            return element.findtext(f"{{{IDENTIFIERS_NS}}}serviceCode")
    return None


def parse_request(data: bytes, limits: Limits) -> SoapRequest:
    """Split an X-Road SOAP request into headers and body wrapper; raises `InvalidMessage`.

    Refuses anything but `Envelope(Header?, Body(one element))`, and a wrapper whose name
    differs from the `service` header's service code: answering another operation than
    the one the access rights were checked for would bypass them.
    """
    envelope = parse_untrusted(data, limits)
    if envelope.tag != _ENVELOPE:
        raise InvalidSoap("not a SOAP 1.1 Envelope")
    parts = _children(envelope)
    tags = [part.tag for part in parts]
    if tags == [_BODY]:
        header, body = None, parts[0]
    elif tags == [_HEADER, _BODY]:
        header, body = parts
    else:
        raise InvalidSoap("the Envelope must hold an optional Header followed by a Body")
    wrappers = _children(body)
    if len(wrappers) != 1:
        raise InvalidSoap("the SOAP Body must hold exactly one element")
    headers = tuple(_children(header)) if header is not None else ()
    request = SoapRequest(headers, wrappers[0])
    declared = _service_code_in(headers)
    if declared is not None and declared != request.service_code:
        raise InvalidSoap(
            f"body element {request.service_code!r} does not match service code {declared!r}"
        )
    return request


def response_wrapper(request: SoapRequest, namespace: str, prefix: str) -> etree._Element:
    """The empty `<{serviceCode}Response>` element, in the service's namespace."""
    name = etree.QName(namespace, f"{request.service_code}Response")
    return etree.Element(name, nsmap={prefix: namespace})


def _envelope(headers: Iterable[etree._Element]) -> tuple[etree._Element, etree._Element]:
    envelope = etree.Element(_ENVELOPE, nsmap={_ENV_PREFIX: SOAP_ENV_NS})
    copies = [deepcopy(element) for element in headers]
    if copies:
        header = etree.SubElement(envelope, _HEADER)
        for element in copies:
            element.tail = None
            header.append(element)
    return envelope, etree.SubElement(envelope, _BODY)


def _serialize(envelope: etree._Element) -> bytes:
    return etree.tostring(envelope, encoding="UTF-8", xml_declaration=True)


def build_response(request: SoapRequest, wrapper: etree._Element) -> bytes:
    """A UTF-8 response envelope: the request's headers echoed in order, then `wrapper`."""
    envelope, body = _envelope(request.headers)
    body.append(wrapper)
    return _serialize(envelope)


def build_fault(
    code: str,
    message: str,
    *,
    fault_id: str | None = None,
    headers: Iterable[etree._Element] = (),
) -> bytes:
    """A SOAP 1.1 Fault as X-Road writes it: code, string, empty actor, `faultDetail` id.

    `code` is a dotted X-Road code such as `Client` or `Client.InvalidRegisterNumber`;
    `fault_id` is the identifier also written to the log, so an operator can find the cause
    without the client ever seeing it. Pass the request's headers when they could be parsed.
    """
    envelope, body = _envelope(headers)
    fault = etree.SubElement(body, _FAULT)
    etree.SubElement(fault, "faultcode").text = code
    etree.SubElement(fault, "faultstring").text = message
    etree.SubElement(fault, "faultactor").text = ""
    if fault_id is not None:
        detail = etree.SubElement(fault, "detail")
        etree.SubElement(detail, "faultDetail").text = fault_id
    return _serialize(envelope)


def child_text(wrapper: etree._Element, namespace: str | None, name: str) -> str | None:
    """The stripped text of the wrapper's child `name`, qualified or not (clients differ)."""
    for tag in (etree.QName(namespace, name).text, name) if namespace else (name,):
        found = wrapper.find(tag)
        if found is not None:
            return (found.text or "").strip()
    return None


def required_argument(request: SoapRequest, name: str) -> str:
    """The text of the request wrapper's child `name`; `InvalidRequest` if it is missing."""
    value = child_text(request.body, request.namespace, name)
    if value is None:
        raise InvalidRequest(f"{request.service_code} needs a {name} element")
    return value


def append_business_fault(wrapper: etree._Element, error: AdapterError) -> None:
    """Add `<fault>` in the wrapper's namespace: a business error in a normal response.

    PR-MESS Annex D.2: an error of the service's own domain (an unknown record) is part of
    its answer, so the security server delivers and logs it like any response.
    """
    namespace = etree.QName(wrapper).namespace
    fault = etree.SubElement(wrapper, etree.QName(namespace, "fault"))
    etree.SubElement(fault, etree.QName(namespace, "faultCode")).text = error.code
    etree.SubElement(fault, etree.QName(namespace, "faultString")).text = str(error)


def handler_for(services: Mapping[str, _Handler], namespace: str, request: SoapRequest) -> _Handler:
    """The handler of the request's service code; `InvalidSoap` for another registry's service.

    The namespace is checked too: `getPerson` of another registry is another service.
    """
    handler = services.get(request.service_code)
    if handler is None or request.namespace != namespace:
        raise InvalidSoap(
            f"no service {request.service_code!r} in namespace {request.namespace!r}; "
            f"this registry offers {', '.join(services)} in {namespace}"
        )
    return handler
