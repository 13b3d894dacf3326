"""One exception tree for everything the bus raises on purpose.

Domain code says *what* went wrong; `xroad.messages.faults` alone says how it looks on the
wire, so SOAP and REST never disagree. Bugs stay `TypeError`/`ValueError` and surface as
`InternalError` faults without leaking a traceback.
"""


class XRoadError(Exception):
    """Root of every error the bus raises deliberately."""


class InvalidMessage(XRoadError):
    """The message or one of its identifiers does not follow the protocol."""


class BadRequest(InvalidMessage):
    """A REST request breaks the r1 protocol (missing `X-Road-Client`, bad path...)."""


class InvalidSoap(InvalidMessage):
    """The SOAP message is not a valid X-Road 4.0 message."""


class DuplicateHeaderField(InvalidSoap):
    """An X-Road header field appears twice."""


class MissingHeaderField(InvalidSoap):
    """A mandatory X-Road header field is missing."""


class InvalidBody(InvalidSoap):
    """The SOAP Body does not hold exactly one wrapper element."""


class WrapperNotServiceCode(InvalidSoap):
    """The body's wrapper element is not named after the service code."""


class InvalidClientIdentifier(InvalidMessage):
    """The client identifier is malformed or not allowed here."""


class InvalidServiceIdentifier(InvalidMessage):
    """The service identifier is malformed."""


class InvalidProtocolVersion(InvalidMessage):
    """`protocolVersion` is not 4.0."""


class InvalidSecurityServer(InvalidMessage):
    """The security server the client asked for does not serve the provider."""


class MessageTooLarge(InvalidMessage):
    """The message exceeds a configured size limit."""


class UnknownMember(XRoadError):
    """The client or provider is not a member of the instance (or not on this server)."""


class UnknownInstance(UnknownMember):
    """The identifier names an X-Road instance that is neither ours nor a federated one."""


class UnknownService(XRoadError):
    """No such service is known for the provider."""


class AccessDenied(XRoadError):
    """The client has no right to call the service."""


class OutdatedGlobalConf(XRoadError):
    """The global configuration is missing, not verified or expired."""


class VerificationError(XRoadError):
    """A signature, digest or certificate could not be verified."""


class InvalidSignature(VerificationError):
    """The signature does not match the bytes received."""


class MalformedSignature(VerificationError):
    """The signature part cannot be parsed."""


class CertificateError(VerificationError):
    """The signing or authentication certificate is not acceptable."""


class SslAuthenticationFailed(VerificationError):
    """The peer security server failed mutual TLS authentication."""


class InconsistentResponse(VerificationError):
    """The response does not belong to the request (request hash, ids, headers)."""


class InconsistentHeaders(InconsistentResponse):
    """The response's X-Road headers do not echo the request's."""


class TransportError(XRoadError):
    """A peer security server or a provider information system could not be reached."""


class ServiceFailed(XRoadError):
    """The provider's information system failed to produce a usable response."""


class LoggingFailed(XRoadError):
    """The audit log could not record the exchange, so it is not delivered."""


class InternalError(XRoadError):
    """An unexpected failure inside the security server."""


class PeerFault(XRoadError):
    """A fault reported by the peer security server, passed on with its code unchanged."""

    def __init__(self, code: str, message: str, fault_id: str) -> None:
        super().__init__(message)
        self.code = code
        self.fault_id = fault_id


class ReplayedMessage(VerificationError):
    """The client already sent a message with this id within the replay window."""


class ClockSkew(VerificationError):
    """The message was signed too long ago or too far in the future."""


class DecryptionFailed(VerificationError):
    """An encrypted message is not for us, was altered, truncated or re-ordered."""


class TimestampingFailed(XRoadError):
    """The audit log could not be time-stamped for longer than the tolerance: no exchanges."""
