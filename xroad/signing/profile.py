"""Certificate profile: which member a signing certificate speaks for (X-Road's EJBCA-like form)."""

from __future__ import annotations

from cryptography import x509
from cryptography.x509.oid import NameOID

from xroad.errors import CertificateError, InvalidMessage
from xroad.identifiers import ClientId


def member_subject(member: ClientId) -> x509.Name:
    """C=instance, O=member class, CN=member code, serialNumber=the member's full identifier."""
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, member.instance[:2]),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, member.member_class),
        x509.NameAttribute(NameOID.COMMON_NAME, member.member_code),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, str(member)),
    ])


def member_of_signing_cert(cert: x509.Certificate) -> ClientId:
    values = cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    if len(values) != 1:
        raise CertificateError("signing certificate subject names no member")
    try:
        member = ClientId.parse(str(values[0].value))
    except InvalidMessage as e:
        raise CertificateError("signing certificate subject names no valid member") from e
    if member.subsystem_code is not None:
        raise CertificateError("signing certificates belong to members, not subsystems")
    return member
