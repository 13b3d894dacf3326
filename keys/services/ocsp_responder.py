"""HTTP edge of the dev OCSP responder (RFC 6960 appendix A): POST or GET, DER in and out.

Every answer is an OCSPResponse with HTTP 200, including `malformedRequest` for bodies we
cannot parse, as RFC 6960 clients expect; nothing here can turn into a stack trace.
"""

from __future__ import annotations

import base64
import binascii
from datetime import timedelta
from pathlib import Path
from typing import Final

import structlog
import uvicorn
from fastapi import FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool

from keys.devpki import load_dev_ca
from keys.ocsp import REQUEST_MEDIA_TYPE, RESPONSE_MEDIA_TYPE
from keys.ocsp_responses import (
    DEFAULT_VALIDITY,
    MAX_REQUEST_BYTES,
    OcspResponder,
    internal_error,
    malformed_request,
)
from keys.services.http import read_at_most
from xroad.clock import Clock, SystemClock

log = structlog.get_logger(__name__)

DEFAULT_PORT: Final = 8888


def create_ocsp_app(responder: OcspResponder, clock: Clock) -> FastAPI:
    app = FastAPI(title="Dev PKI OCSP responder", version="1", openapi_url=None)

    async def answer(request_der: bytes | None) -> Response:
        try:
            der = (malformed_request() if request_der is None
                   else await run_in_threadpool(responder.respond, request_der, clock.now()))
        except Exception:  # a bug or an unreadable index: say internalError, log the trace
            log.exception("ocsp.failed")
            der = internal_error()
        return Response(der, media_type=RESPONSE_MEDIA_TYPE,
                        headers={"Cache-Control": "no-store"})

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok", "issuer": responder.issuer.subject.rfc4514_string()}

    @app.post("/", response_class=Response)
    async def post(request: Request) -> Response:
        media_type = request.headers.get("content-type", "").split(";")[0].strip()
        if media_type != REQUEST_MEDIA_TYPE:
            return await answer(None)
        return await answer(await read_at_most(request, MAX_REQUEST_BYTES))

    @app.get("/{encoded:path}", response_class=Response)
    async def get(encoded: str) -> Response:
        """The request is base64 in the path (already URL-decoded by the server)."""
        try:
            request_der: bytes | None = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            request_der = None
        return await answer(request_der)

    return app


def run_ocsp_responder(pki_dir: Path, pin: str, host: str = "127.0.0.1",
                       port: int = DEFAULT_PORT, *,
                       validity: timedelta = DEFAULT_VALIDITY) -> None:
    """Serve OCSP for the dev CA in `pki_dir`; issues the responder certificate on first use."""
    clock = SystemClock()
    ca = load_dev_ca(pki_dir, pin)
    responder = OcspResponder(ca.issuing, ca.ensure_ocsp_signer(pin, clock.now()), ca.index,
                              validity)
    uvicorn.run(create_ocsp_app(responder, clock), host=host, port=port,
                log_level="warning", access_log=False)
