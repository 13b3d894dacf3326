"""What `xroad init` will create, checked before anything is written (pure: options in, a plan
or `InitRefused` out).

Everything an operator can get wrong is refused here with a message naming the option, so
that creating the instance afterwards fails only for reasons outside their options (disk,
permissions).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from urllib.parse import urlsplit

from cryptography import x509

from xroad.central.seed import InstanceSeed, MemberSeed
from xroad.clock import require_aware
from xroad.errors import XRoadError
from xroad.identifiers import ClientId, is_identifier_part
from xroad.newinstance.certfiles import CertFile, ca_certificates, cert_name, tsa_certificate

__all__ = ["DEFAULT_CENTRAL_URL", "DEFAULT_OCSP_URL", "DEFAULT_TSA_URL", "ApprovedCa",
           "CertFile", "DevPki", "HttpService", "ImportedTrust", "InitOptions", "InitRefused",
           "InstancePlan", "Listen", "Tsa", "plan_instance"]

DEFAULT_CENTRAL_URL: Final = "http://127.0.0.1:4000"
DEFAULT_OCSP_URL: Final = "http://127.0.0.1:8888"
DEFAULT_TSA_URL: Final = "http://127.0.0.1:8899"
IDENTIFIER_CHARACTERS: Final = "letters A-Z a-z, digits and ' ( ) + , - . = ?"
_MAX_NAME: Final = 255
# Descriptions of member classes most instances have; others get none (X-Road allows that).
_CLASS_DESCRIPTIONS: Final = {
    "GOV": "Government institutions",
    "COM": "Commercial enterprises",
    "NGO": "Non-governmental organisations",
    "EDU": "Educational institutions",
}


class InitRefused(XRoadError):
    """`xroad init` cannot create the instance as asked; nothing was written."""


@dataclass(frozen=True, slots=True)
class InitOptions:
    """The options as the operator typed them (certificate files already read)."""

    instance: str
    name: str
    member_classes: str  # comma-separated codes, e.g. "GOV,COM"
    first_member: str | None = None  # CLASS/CODE (or INSTANCE/CLASS/CODE)
    first_member_name: str | None = None
    central_url: str = DEFAULT_CENTRAL_URL
    ocsp_urls: tuple[str, ...] = ()
    tsa_urls: tuple[str, ...] = ()
    ca_certs: tuple[CertFile, ...] = ()
    tsa_certs: tuple[CertFile, ...] = ()


@dataclass(frozen=True, slots=True)
class Listen:
    """Where a component of this instance listens, derived from the URL others use."""

    host: str
    port: int


@dataclass(frozen=True, slots=True)
class HttpService:
    url: str  # base URL, no trailing slash
    listen: Listen


@dataclass(frozen=True, slots=True)
class DevPki:
    """Create a dev PKI (TEST ONLY) and serve its OCSP responder and TSA here."""

    ocsp: HttpService
    tsa: HttpService


@dataclass(frozen=True, slots=True)
class ApprovedCa:
    name: str
    cert: x509.Certificate
    ocsp_url: str


@dataclass(frozen=True, slots=True)
class Tsa:
    name: str
    url: str
    cert: x509.Certificate | None


@dataclass(frozen=True, slots=True)
class ImportedTrust:
    """Approve the country's own CAs and TSAs; no CA keys are created."""

    cas: tuple[ApprovedCa, ...]
    tsas: tuple[Tsa, ...]


@dataclass(frozen=True, slots=True)
class InstancePlan:
    seed: InstanceSeed  # member classes and the first member
    name: str
    central: HttpService
    trust: DevPki | ImportedTrust

    @property
    def instance(self) -> str:
        return self.seed.instance

    @property
    def download_url(self) -> str:
        """Where security servers download global configuration (in the anchor)."""
        return f"{self.central.url}/globalconf"

    @property
    def tsa_urls(self) -> tuple[str, ...]:
        if isinstance(self.trust, DevPki):
            return (self.trust.tsa.url,)
        return tuple(t.url for t in self.trust.tsas)


def plan_instance(options: InitOptions, at: datetime) -> InstancePlan:
    """Check every option; `InitRefused` names the first one that is wrong."""
    require_aware(at)
    instance = _identifier(options.instance.strip(), "--instance", "instance code")
    classes = _member_classes(options.member_classes)
    members = _first_member(options, instance, classes)
    seed = InstanceSeed(instance, tuple((c, _CLASS_DESCRIPTIONS.get(c, "")) for c in classes),
                        members, ())
    central = _own_service(options.central_url, "--central-url")
    if options.ca_certs:
        trust: DevPki | ImportedTrust = _imported(options, at)
    else:
        trust = _dev_pki(options, instance)
    return InstancePlan(seed, _name(options.name, "--name"), central, trust)


def _identifier(text: str, option: str, what: str) -> str:
    if not text:
        raise InitRefused(f"{option}: the {what} is empty")
    if not is_identifier_part(text):
        raise InitRefused(f"{option}: {what} {text!r} is outside X-Road's identifier character "
                          f"set ({IDENTIFIER_CHARACTERS}; at most 255 characters)")
    return text


def _name(text: str, option: str) -> str:
    name = text.strip()
    if not name:
        raise InitRefused(f"{option}: the name is empty")
    if len(name) > _MAX_NAME or not name.isprintable():
        raise InitRefused(f"{option}: give a name of at most {_MAX_NAME} printable characters")
    return name


def _member_classes(text: str) -> tuple[str, ...]:
    codes = [c.strip() for c in text.split(",")]
    if not any(codes):
        raise InitRefused("--member-classes: give at least one member class, e.g. GOV,COM")
    for code in codes:
        _identifier(code, "--member-classes", "member class")
    if len(set(codes)) != len(codes):
        raise InitRefused(f"--member-classes: {text!r} names a member class twice")
    return tuple(codes)


def _first_member(options: InitOptions, instance: str, classes: tuple[str, ...]
                  ) -> tuple[MemberSeed, ...]:
    if options.first_member is None:
        if options.first_member_name is not None:
            raise InitRefused("--first-member-name needs --first-member CLASS/CODE")
        return ()
    parts = options.first_member.strip().split("/")
    if len(parts) == 3:
        if parts[0] != instance:
            raise InitRefused(f"--first-member: {options.first_member!r} is not in instance "
                              f"{instance}")
        parts = parts[1:]
    if len(parts) != 2:
        raise InitRefused(f"--first-member: give CLASS/CODE, e.g. GOV/MOHA (not "
                          f"{options.first_member!r})")
    member_class, code = parts
    if member_class not in classes:
        raise InitRefused(f"--first-member: member class {member_class!r} is not one of "
                          f"--member-classes ({', '.join(classes)})")
    _identifier(code, "--first-member", "member code")
    if options.first_member_name is None:
        raise InitRefused("--first-member needs --first-member-name (the organization's name)")
    name = _name(options.first_member_name, "--first-member-name")
    return (MemberSeed(ClientId(instance, member_class, code), name, ()),)


def _url(text: str, option: str, *, schemes: tuple[str, ...]) -> tuple[str, str, int]:
    """Base URL, host and port; refused with a reason otherwise."""
    parts = urlsplit(text.strip())
    example = f"e.g. {schemes[0]}://127.0.0.1:4000"
    if parts.scheme not in schemes or not parts.hostname:
        raise InitRefused(f"{option}: {text!r} is not a "
                          f"{' or '.join(schemes)} URL ({example})")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise InitRefused(f"{option}: give the base URL only, without path, query or user "
                          f"({example}), not {text!r}")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as e:
        raise InitRefused(f"{option}: {text!r} has an invalid port") from e
    return f"{parts.scheme}://{parts.netloc}", parts.hostname, port


def _own_service(text: str, option: str) -> HttpService:
    """A component this instance runs: plain HTTP (its answers are signed), listening on the
    URL's address if that is an IP address, on every interface if it is a host name."""
    url, host, port = _url(text, option, schemes=("http",))
    if host == "localhost":
        return HttpService(url, Listen("127.0.0.1", port))
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return HttpService(url, Listen("0.0.0.0", port))  # noqa: S104 - reached by its name
    return HttpService(url, Listen(host, port))


def _dev_pki(options: InitOptions, instance: str) -> DevPki:
    if options.tsa_certs:
        raise InitRefused("--tsa-cert needs --ca-cert: with the dev PKI (no --ca-cert) the TSA "
                          "certificate is made here")
    if len(instance) < 2:
        raise InitRefused("--instance: the dev PKI needs an instance code of at least two "
                          "characters (it is the C= of its certificates); import the "
                          "country's CA with --ca-cert instead")
    for option, urls in (("--ocsp-url", options.ocsp_urls), ("--tsa-url", options.tsa_urls)):
        if len(urls) > 1:
            raise InitRefused(f"{option}: the dev PKI serves one; give it once")
    return DevPki(_own_service(_first(options.ocsp_urls, DEFAULT_OCSP_URL), "--ocsp-url"),
                  _own_service(_first(options.tsa_urls, DEFAULT_TSA_URL), "--tsa-url"))


def _first(values: tuple[str, ...], default: str) -> str:
    return values[0] if values else default


def _imported(options: InitOptions, at: datetime) -> ImportedTrust:
    ocsp = _paired(options.ocsp_urls, len(options.ca_certs), "--ocsp-url", "--ca-cert")
    if not options.tsa_urls:
        raise InitRefused("--tsa-url: give the country's time-stamping authority (security "
                          "servers stop exchanges they cannot time-stamp)")
    if options.tsa_certs and len(options.tsa_certs) != len(options.tsa_urls):
        raise InitRefused("--tsa-cert: give one per --tsa-url, in the same order, or none")
    cas: list[ApprovedCa] = []
    for file, url in zip(options.ca_certs, ocsp, strict=True):
        ocsp_url, _, _ = _url(url, "--ocsp-url", schemes=("http", "https"))
        cas += [ApprovedCa(cert_name(c), c, ocsp_url) for c in _checked(ca_certificates, file, at)]
    tsas: list[Tsa] = []
    for index, url in enumerate(options.tsa_urls):
        tsa_url, _, _ = _url(url, "--tsa-url", schemes=("http", "https"))
        cert = (_checked(tsa_certificate, options.tsa_certs[index], at)[0]
                if options.tsa_certs else None)
        tsas.append(Tsa(cert_name(cert) if cert else tsa_url, tsa_url, cert))
    if len({c.cert for c in cas}) != len(cas):
        raise InitRefused("--ca-cert: the same CA certificate is given twice")
    return ImportedTrust(tuple(cas), tuple(tsas))


def _paired(values: tuple[str, ...], count: int, option: str, per: str) -> tuple[str, ...]:
    if len(values) == 1:
        return values * count
    if len(values) != count:
        raise InitRefused(f"{option}: give one for all {per} files, or one per {per} in the "
                          f"same order ({count})")
    return values


CertParser = Callable[[CertFile], tuple[x509.Certificate, ...]]


def _checked(parse: CertParser, file: CertFile, at: datetime) -> tuple[x509.Certificate, ...]:
    try:
        certs = parse(file)
    except ValueError as e:
        raise InitRefused(str(e)) from e
    for cert in certs:
        if not cert.not_valid_before_utc <= at <= cert.not_valid_after_utc:
            raise InitRefused(f"{file.name}: certificate {cert_name(cert)!r} is not valid now "
                              f"({cert.not_valid_before_utc.date()} .. "
                              f"{cert.not_valid_after_utc.date()})")
    return certs


