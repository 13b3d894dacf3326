"""HTTP edge of the dev time-stamping authority (RFC 3161 §3.4, time-stamp protocol via HTTP).

Every answer is a TimeStampResp (`application/timestamp-reply`): granted with HTTP 200,
rejected with 400 and a failInfo saying why (500 and systemFailure for our own faults), so
clients never see a stack trace.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import structlog
import uvicorn
from fastapi import FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool

from keys.devpki import load_dev_ca
from keys.services.http import read_at_most
from keys.tsa import QUERY_MEDIA_TYPE, REPLY_MEDIA_TYPE
from keys.tsa_responses import MAX_QUERY_BYTES, TimeStampAuthority, TsaReply, reject
from xroad.clock import Clock, SystemClock

log = structlog.get_logger(__name__)

DEFAULT_PORT: Final = 8899


def create_tsa_app(tsa: TimeStampAuthority, clock: Clock) -> FastAPI:
    app = FastAPI(title="Dev PKI time-stamping authority", version="1", openapi_url=None)

    def reply(answer: TsaReply, status: int | None = None) -> Response:
        return Response(answer.der, status_code=status or (200 if answer.granted else 400),
                        media_type=REPLY_MEDIA_TYPE, headers={"Cache-Control": "no-store"})

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok", "tsa": tsa.signer.certificate.subject.rfc4514_string(),
                "policy": tsa.policy}

    @app.post("/", response_class=Response)
    async def stamp(request: Request) -> Response:
        media_type = request.headers.get("content-type", "").split(";")[0].strip()
        if media_type != QUERY_MEDIA_TYPE:
            return reply(reject("bad_request", f"Content-Type must be {QUERY_MEDIA_TYPE}"))
        query = await read_at_most(request, MAX_QUERY_BYTES)
        if query is None:
            return reply(reject("bad_data_format", "time-stamp query too large"))
        try:
            return reply(await run_in_threadpool(tsa.respond, query, clock.now()))
        except Exception:  # a bug or a broken key: say systemFailure, log the trace
            log.exception("tsa.failed")
            return reply(reject("system_failure", "the TSA failed"), status=500)

    return app


def run_tsa(pki_dir: Path, pin: str, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> None:
    """Serve time-stamps signed by the dev TSA key in `pki_dir`, issued on first use."""
    clock = SystemClock()
    tsa = TimeStampAuthority(load_dev_ca(pki_dir, pin).ensure_tsa_signer(pin, clock.now()))
    uvicorn.run(create_tsa_app(tsa, clock), host=host, port=port,
                log_level="warning", access_log=False)
