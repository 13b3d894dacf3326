"""HTTP routes of global configuration: the signed document, X-Road's shared parameters view
and the publication status (for the web console)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from cryptography import x509
from fastapi import APIRouter, Request, Response

from xroad.central.publisher import ConfPublisher, key_id
from xroad.globalconf import shared_params
from xroad.globalconf.codec import cert_sha256
from xroad.globalconf.shared_params import ApprovedTsa, SharedParamsInput

GLOBALCONF_MEDIA_TYPE = "application/json"
SHARED_PARAMS_MEDIA_TYPE = "application/xml"
_NO_STORE = {"Cache-Control": "no-store"}


def globalconf_router(publisher: ConfPublisher,
                      tsas: Callable[[], Sequence[ApprovedTsa]] = tuple) -> APIRouter:
    router = APIRouter()

    @router.get("/globalconf", response_class=Response)
    def globalconf() -> Response:
        """The latest signed global configuration (verify it against the configuration anchor)."""
        return Response(publisher.current(), media_type=GLOBALCONF_MEDIA_TYPE, headers=_NO_STORE)

    @router.get("/globalconf/shared-params.xml", response_class=Response)
    def shared_parameters(request: Request) -> Response:
        """The current configuration as X-Road's `shared-params.xml` (version 6), unsigned:
        for X-Road tooling to read; security servers verify the signed `/globalconf`."""
        conf = publisher.latest().conf
        extra = SharedParamsInput(central_address=request.url.hostname or "", tsas=tsas())
        return Response(shared_params.render(conf, extra), media_type=SHARED_PARAMS_MEDIA_TYPE,
                        headers=_NO_STORE)

    @router.get("/globalconf/status")
    def status() -> dict[str, object]:
        """Version, validity and signing keys of the configuration being served."""
        latest = publisher.latest()
        conf = latest.conf
        return {
            "instance": conf.instance,
            "version": conf.version,
            "content_sha256": latest.content_sha256,
            "generated_at": conf.generated_at.isoformat(),
            "expires_at": conf.expires_at.isoformat(),
            "signing_key": _key(latest.signing_cert),
            "next_keys": [_key(c) for c in latest.next_certs],
            "federated_instances": [a.instance for a in conf.federated_anchors],
        }

    return router


def _key(cert: x509.Certificate) -> dict[str, object]:
    return {
        "key_id": key_id(cert),
        "cert_sha256": cert_sha256(cert),
        "subject": cert.subject.rfc4514_string(),
        "not_after": cert.not_valid_after_utc.isoformat(),
    }
