"""`xroad registration ...`: registration requests waiting at the central server, and an
officer's decisions (a registration officer's or administrator's key; see --key-file)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from xroad.cli.central_client import CentralClient, CentralUrl, DataDir, KeyFile

app = typer.Typer(no_args_is_help=True,
                  help="Registration requests: list, show, approve, reject (central server).")

RequestId = Annotated[int, typer.Argument(help="The request's number, as `list` shows.")]


class Status(StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"


def _line(r: dict[str, Any]) -> str:
    subject = r["client"] or r["address"] or (
        f"auth cert {r['auth_cert_sha256'][:16]}..." if r["auth_cert_sha256"] else "")
    return (f"{r['id']:>4}  {r['status']:<9}  {r['kind']:<22}  {r['server']}  {subject}  "
            f"(from {r['origin']}, {r['created_at'][:19]})")


def _show(r: dict[str, Any]) -> str:
    lines = [_line(r), f"  signed by:  {r['signer'] or '-'}",
             f"  submitted:  {r['submitted_by']}"]
    if r["decided_by"]:
        lines.append(f"  decided:    {r['decided_by']} at {r['decided_at']}"
                     + (f" ({r['comment']})" if r["comment"] else ""))
    if r["complement_id"]:
        lines.append(f"  matched with request {r['complement_id']}")
    lines += [f"  {h['at'][:19]}  {h['action']:<9}  {h['actor']}"
              + (f": {h['comment']}" if h["comment"] else "") for h in r["history"]]
    return "\n".join(lines)


@app.command("list")
def list_requests(
    status: Annotated[Status | None, typer.Option(help="Only requests in this state.")] = None,
    data_dir: DataDir = Path("var"), central_url: CentralUrl = None, key_file: KeyFile = None,
) -> None:
    """Registration requests, oldest first."""
    params = {} if status is None else {"status": str(status)}
    found = CentralClient.of(data_dir, central_url, key_file).call(
        "GET", "/api/v1/registration-requests", params=params)
    typer.echo("\n".join(_line(r) for r in found) if found else "no registration requests")


@app.command("show")
def show_request(request_id: RequestId, data_dir: DataDir = Path("var"),
                 central_url: CentralUrl = None, key_file: KeyFile = None) -> None:
    """One request with its history."""
    typer.echo(_show(CentralClient.of(data_dir, central_url, key_file).call(
        "GET", f"/api/v1/registration-requests/{request_id}")))


@app.command()
def approve(
    request_id: RequestId,
    comment: Annotated[str, typer.Option(help="Why (kept in the request's history).")] = "",
    data_dir: DataDir = Path("var"), central_url: CentralUrl = None, key_file: KeyFile = None,
) -> None:
    """Approve a security server's request; the change is in the next global configuration."""
    done = CentralClient.of(data_dir, central_url, key_file).call(
        "POST", f"/api/v1/registration-requests/{request_id}/approve", body={"comment": comment})
    typer.echo(f"approved: {_line(done)}")


@app.command()
def reject(
    request_id: RequestId,
    comment: Annotated[str, typer.Option(help="Why (required; the requester sees it).")],
    data_dir: DataDir = Path("var"), central_url: CentralUrl = None, key_file: KeyFile = None,
) -> None:
    """Reject a request; it is closed for good."""
    done = CentralClient.of(data_dir, central_url, key_file).call(
        "POST", f"/api/v1/registration-requests/{request_id}/reject", body={"comment": comment})
    typer.echo(f"rejected: {_line(done)}")
