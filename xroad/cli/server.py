"""`xroad server register`: a security server asks the central server to register it (its
authentication certificate and address) or a client it hosts.

Run on the security server's side: the request is signed with the owner member's signing key
from the server's token and, for the authentication certificate, also with that
certificate's own key (proof of possession); the central server verifies both against the
approved CAs. A registration officer then approves it (`xroad registration approve`).
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from keys.encryption_seed import encryption_keypairs
from keys.token import SoftwareSigner, SoftwareToken
from xroad.central.requests import (
    ManagementRequest,
    RequestKind,
    SignedRequest,
    new_request,
    sign_request,
)
from xroad.cli.acl import serverconf_path
from xroad.cli.central_client import CentralClient, CentralUrl, DataDir, fail, instance_doc
from xroad.clock import SystemClock
from xroad.errors import XRoadError
from xroad.identifiers import ClientId, SecurityServerId
from xroad.proxy.layout import AUTH_KEY_LABEL, signing_label
from xroad.serverconf import parse

PIN_VARIABLE = "XROAD_TOKEN_PIN"

app = typer.Typer(no_args_is_help=True, help="This security server's registration.")


def _pin(data_dir: Path) -> str:
    """XROAD_TOKEN_PIN; in a demo data directory the demo's PIN; else a hidden prompt."""
    if pin := os.environ.get(PIN_VARIABLE):
        return pin
    if instance_doc(data_dir) is not None:
        from xroad.cli.demo import DemoSettings  # noqa: PLC0415 - only for the demo

        return DemoSettings().token_pin.get_secret_value()
    entered: str = typer.prompt("Token PIN", hide_input=True)
    return entered


def _unlock(token: SoftwareToken, label: str, pin: str, what: str) -> SoftwareSigner:
    if not token.key_path(label).exists():
        fail(f"no {what} in {token.directory} (label {label!r})")
    try:
        return token.unlock(label, pin)
    except XRoadError as e:
        fail(f"{what}: {e}")


def _wire(signed: SignedRequest) -> dict[str, Any]:
    def b64(data: bytes | None) -> str | None:
        return None if data is None else base64.b64encode(data).decode()
    return {"payload": b64(signed.payload), "signature": b64(signed.signature),
            "proof_of_possession": b64(signed.proof_of_possession)}


def _report(answer: dict[str, Any]) -> str:
    what = answer["client"] or answer["address"] or "authentication certificate"
    state = answer["status"]
    if state == "submitted":
        state += ": waiting for a registration officer (`xroad registration approve " \
                 f"{answer['id']}`)"
    return f"request {answer['id']} ({answer['kind']} of {what} on {answer['server']}): {state}"


@app.command()
def register(
    server: Annotated[str | None, typer.Option(
        help="This security server's id (needed when the data directory holds several).")
    ] = None,
    client: Annotated[str | None, typer.Option(
        "--client", help="Register this member or subsystem as a client of the server.")
    ] = None,
    address: Annotated[str | None, typer.Option(
        help="The server's https:// address, registered with its authentication certificate.")
    ] = None,
    data_dir: DataDir = Path("var"), central_url: CentralUrl = None,
) -> None:
    """Sign and send a registration request: a client (--client) or this server itself."""
    if client is not None and address is not None:
        fail("give --client (register a client) or --address (register the server), not both")
    conf_file = serverconf_path(data_dir, server)
    try:
        server_id = parse(conf_file.read_text(encoding="utf-8")).server_id
        client_id = None if client is None else ClientId.parse(client)
    except (OSError, XRoadError) as e:
        fail(str(e))
    central = CentralClient.of(data_dir, central_url, None, authenticated=False)
    token = SoftwareToken(conf_file.parent / "token")
    pin = _pin(data_dir)
    signer = _unlock(token, signing_label(server_id.owner), pin,
                     f"signing key of the owner {server_id.owner}")
    if client_id is not None:
        _send(central, _request(RequestKind.CLIENT_REGISTRATION, server_id, client=client_id),
              signer)
        return
    auth = _unlock(token, AUTH_KEY_LABEL, pin, "authentication key")
    keys = tuple(p.recipient for p in encryption_keypairs(token.directory, pin))
    _send(central, _request(RequestKind.AUTH_CERT_REGISTRATION, server_id,
                            auth_cert=auth.certificate, encryption_keys=keys), signer, auth,
          may_exist=address is not None)
    if address is not None:
        _send(central, _request(RequestKind.ADDRESS_CHANGE, server_id, address=address), signer)


def _request(kind: RequestKind, server: SecurityServerId, **details: Any) -> ManagementRequest:
    try:
        return new_request(kind, server, SystemClock().now(), **details)
    except XRoadError as e:
        fail(str(e))


def _send(central: CentralClient, request: ManagementRequest, signer: SoftwareSigner,
          auth: SoftwareSigner | None = None, *, may_exist: bool = False) -> None:
    """Sign and submit; with `may_exist`, a certificate registered already is only noted."""
    signed = sign_request(request, signer, list(signer.chain), SystemClock().now(), auth)
    answer = central.call("POST", "/api/v1/management-requests", body=_wire(signed),
                          accept=(409,) if may_exist else ())
    if answer.get("type") == "Conflict":
        typer.echo(f"authentication certificate: {answer['message']}")
        return
    typer.echo(_report(answer))
