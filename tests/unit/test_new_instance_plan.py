"""`xroad init`'s options, checked before anything is written: what a plan holds, and each
mistake an operator can make refused with a message naming the option."""

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization

from keys.certs import pem
from keys.devpki import DevCa
from tests.unit.conftest import PIN
from xroad.identifiers import ClientId
from xroad.newinstance import CertFile, InitOptions, InitRefused, plan_instance
from xroad.newinstance.plan import DevPki, ImportedTrust, Listen

LA = InitOptions(instance="LA", name="Lao PDR", member_classes="GOV,COM",
                 first_member="GOV/MOHA", first_member_name="Ministry of Home Affairs")


def test_dev_pki_plan_with_defaults(at: datetime) -> None:
    plan = plan_instance(LA, at)
    assert plan.instance == "LA"
    assert plan.name == "Lao PDR"
    assert plan.seed.member_classes == (("GOV", "Government institutions"),
                                        ("COM", "Commercial enterprises"))
    assert [(m.id, m.name) for m in plan.seed.members] == [
        (ClientId("LA", "GOV", "MOHA"), "Ministry of Home Affairs")]
    assert plan.download_url == "http://127.0.0.1:4000/globalconf"
    assert plan.central.listen == Listen("127.0.0.1", 4000)
    assert isinstance(plan.trust, DevPki)
    assert plan.trust.ocsp.url == "http://127.0.0.1:8888"
    assert plan.tsa_urls == ("http://127.0.0.1:8899",)


def test_urls_decide_where_components_listen(at: datetime) -> None:
    plan = plan_instance(replace(LA, central_url="http://cs.gov.la:4100/",
                                 ocsp_urls=("http://localhost:9888",),
                                 tsa_urls=("http://10.0.0.5:9899",)), at)
    assert (plan.central.url, plan.central.listen) == ("http://cs.gov.la:4100",
                                                       Listen("0.0.0.0", 4100))  # noqa: S104
    assert isinstance(plan.trust, DevPki)
    assert plan.trust.ocsp.listen == Listen("127.0.0.1", 9888)
    assert plan.trust.tsa.listen == Listen("10.0.0.5", 9899)


def test_member_classes_and_first_member_forms(at: datetime) -> None:
    plan = plan_instance(replace(LA, member_classes=" GOV , EDU,X-1", first_member="LA/EDU/NUOL",
                                 first_member_name=" National University of Laos "), at)
    assert [c for c, _ in plan.seed.member_classes] == ["GOV", "EDU", "X-1"]
    assert plan.seed.members[0].id == ClientId("LA", "EDU", "NUOL")
    assert plan.seed.members[0].name == "National University of Laos"
    assert plan_instance(replace(LA, first_member=None, first_member_name=None),
                         at).seed.members == ()


def _files(ca: DevCa) -> tuple[CertFile, CertFile, CertFile]:
    tsa = ca.ensure_tsa_signer(PIN, ca.issuing.not_valid_before_utc + timedelta(hours=2))
    return (CertFile("root.pem", pem([ca.root])),
            CertFile("issuing.der", ca.issuing.public_bytes(serialization.Encoding.DER)),
            CertFile("tsa.pem", pem([tsa.certificate])))


def test_imported_trust_pairs_ocsp_urls_and_tsa_certs(ca: DevCa, at: datetime) -> None:
    root, issuing, tsa = _files(ca)
    plan = plan_instance(replace(LA, ca_certs=(root, issuing),
                                 ocsp_urls=("http://ocsp.root.la", "https://ocsp.la:8443"),
                                 tsa_urls=("http://tsa.la",), tsa_certs=(tsa,)), at)
    assert isinstance(plan.trust, ImportedTrust)
    assert [(c.name, c.ocsp_url) for c in plan.trust.cas] == [
        ("MN Dev Root CA", "http://ocsp.root.la"), ("MN Dev Issuing CA", "https://ocsp.la:8443")]
    assert [(t.name, t.url) for t in plan.trust.tsas] == [
        ("Dev Time-Stamping Authority", "http://tsa.la")]
    one_for_all = plan_instance(replace(LA, ca_certs=(CertFile("both.pem", pem(
        [ca.root, ca.issuing])),), ocsp_urls=("http://ocsp.la",), tsa_urls=("http://tsa.la",)),
        at)
    assert isinstance(one_for_all.trust, ImportedTrust)
    assert {c.ocsp_url for c in one_for_all.trust.cas} == {"http://ocsp.la"}
    assert one_for_all.trust.tsas[0].cert is None


BAD = {
    "instance outside the character set": (
        {"instance": "L A"}, "--instance: instance code 'L A' is outside X-Road's identifier"),
    "instance with a slash": ({"instance": "LA/X"}, "--instance: instance code 'LA/X'"),
    "empty instance": ({"instance": " "}, "--instance: the instance code is empty"),
    "one-letter instance with the dev PKI": ({"instance": "L"}, "at least two characters"),
    "Lao script in a member class": ({"member_classes": "GOV,ລັດ"},
                                     "--member-classes: member class 'ລັດ' is outside"),
    "no member class": ({"member_classes": " , "}, "give at least one member class"),
    "a member class twice": ({"member_classes": "GOV,COM,GOV"}, "names a member class twice"),
    "first member of an unknown class": ({"first_member": "NGO/X"},
                                         "member class 'NGO' is not one of --member-classes"),
    "first member of another instance": ({"first_member": "MN/GOV/MOHA"},
                                         "is not in instance LA"),
    "first member without a code": ({"first_member": "GOV"}, "give CLASS/CODE"),
    "first member code outside the set": ({"first_member": "GOV/MO HA"},
                                          "member code 'MO HA' is outside"),
    "first member without a name": ({"first_member_name": None}, "needs --first-member-name"),
    "a name without a member": ({"first_member": None}, "--first-member-name needs"),
    "empty instance name": ({"name": "  "}, "--name: the name is empty"),
    "control character in a name": ({"name": "Lao\nPDR"}, "printable characters"),
    "central URL not http": ({"central_url": "ftp://cs.la"}, "--central-url: 'ftp://cs.la'"),
    "central URL with a path": ({"central_url": "http://cs.la/globalconf"},
                                "--central-url: give the base URL only"),
    "central URL with a bad port": ({"central_url": "http://cs.la:99999"}, "invalid port"),
    "two dev OCSP responders": ({"ocsp_urls": ("http://a:1", "http://b:2")},
                                "--ocsp-url: the dev PKI serves one"),
    "TSA certificate without a CA": ({"tsa_certs": (CertFile("t.pem", b""),)},
                                     "--tsa-cert needs --ca-cert"),
}


@pytest.mark.parametrize(("change", "message"), BAD.values(), ids=BAD.keys())
def test_bad_options_are_refused_naming_the_option(change: dict[str, object], message: str,
                                                   at: datetime) -> None:
    with pytest.raises(InitRefused) as refused:
        plan_instance(replace(LA, **change), at)  # type: ignore[arg-type]
    assert message in str(refused.value)


def test_bad_imported_certificates_are_refused_by_file(ca: DevCa, at: datetime) -> None:
    root, _, tsa = _files(ca)
    imported = replace(LA, ca_certs=(root,), ocsp_urls=("http://ocsp.la",),
                       tsa_urls=("http://tsa.la",))
    cases = {
        "not a certificate": (replace(imported, ca_certs=(CertFile("x.pem", b"junk"),)),
                              "x.pem: not a PEM or DER certificate"),
        "a leaf, not a CA": (replace(imported, ca_certs=(tsa,)), "tsa.pem: CN=Dev Time-"),
        "a CA as the TSA": (replace(imported, tsa_certs=(root,)),
                            "root.pem: CN=MN Dev Root CA,O=MN X-Road test PKI,C=MN is not a "
                            "time-stamping certificate"),
        "no OCSP responder": (replace(imported, ocsp_urls=()), "--ocsp-url: give one for all"),
        "no TSA": (replace(imported, tsa_urls=()), "--tsa-url: give the country's"),
        "TSA certificates not paired": (
            replace(imported, tsa_urls=("http://a", "http://b"), tsa_certs=(tsa,)),
            "--tsa-cert: give one per --tsa-url"),
        "the same CA twice": (replace(imported, ca_certs=(root, root)), "given twice"),
        "a CA not valid yet": (imported, "is not valid now"),
    }
    for name, (options, message) in cases.items():
        when = at - timedelta(days=1) if name == "a CA not valid yet" else at
        with pytest.raises(InitRefused) as refused:
            plan_instance(options, when)
        assert message in str(refused.value), name
