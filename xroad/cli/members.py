"""`xroad member ...` and `xroad subsystem add`: the central server's member registry,
through its admin API (an administrator's key changes it; any role's key reads it)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from xroad.cli.central_client import CentralClient, CentralUrl, DataDir, KeyFile, fail
from xroad.errors import XRoadError
from xroad.identifiers import ClientId, encode_path_segments

member_app = typer.Typer(no_args_is_help=True,
                         help="Member organizations registered on the central server.")
subsystem_app = typer.Typer(no_args_is_help=True, help="Subsystems of members.")


def _client_id(text: str, *, subsystem: bool) -> ClientId:
    try:
        client = ClientId.parse(text)
    except XRoadError as e:
        fail(str(e))
    if (client.subsystem_code is not None) != subsystem:
        form = "INSTANCE/CLASS/CODE/SUBSYSTEM" if subsystem else "INSTANCE/CLASS/CODE"
        fail(f"{text}: give {form}")
    return client


def _path(member: ClientId) -> str:
    return encode_path_segments([member.member_class, member.member_code])


def _same_instance(central: CentralClient, client: ClientId) -> None:
    health = central.call("GET", "/health")
    instance = health.get("instance") if isinstance(health, dict) else None
    if instance != client.instance:
        fail(f"{client} is not of this central server's instance {instance}")


def _describe(member: dict[str, Any]) -> str:
    subsystems = ", ".join(member["subsystems"]) or "none"
    return f"{member['id']:<28} {member['name']}  (subsystems: {subsystems})"


@member_app.command("add")
def add_member(
    member: Annotated[str, typer.Argument(help="INSTANCE/CLASS/CODE, e.g. MN/COM/NEWCO.")],
    name: Annotated[str, typer.Option("--name", help="The organization's name.")],
    data_dir: DataDir = Path("var"), central_url: CentralUrl = None, key_file: KeyFile = None,
) -> None:
    """Register a member organization (its member class must exist)."""
    member_id = _client_id(member, subsystem=False)
    central = CentralClient.of(data_dir, central_url, key_file)
    _same_instance(central, member_id)
    made = central.call("POST", "/api/v1/members", body={
        "member_class": member_id.member_class, "member_code": member_id.member_code,
        "name": name})
    typer.echo(f"registered member {made['id']} ({made['name']})")


@member_app.command("list")
def list_members(data_dir: DataDir = Path("var"), central_url: CentralUrl = None,
                 key_file: KeyFile = None) -> None:
    """Every member with its subsystems."""
    members = CentralClient.of(data_dir, central_url, key_file).call("GET", "/api/v1/members")
    for member in members:
        typer.echo(_describe(member))


@member_app.command("show")
def show_member(
    member: Annotated[str, typer.Argument(help="INSTANCE/CLASS/CODE.")],
    data_dir: DataDir = Path("var"), central_url: CentralUrl = None, key_file: KeyFile = None,
) -> None:
    """A member: subsystems, the security servers it owns, where it is registered as a client."""
    member_id = _client_id(member, subsystem=False)
    doc = CentralClient.of(data_dir, central_url, key_file).call(
        "GET", f"/api/v1/members/{_path(member_id)}")
    lines = [f"{doc['id']}  {doc['name']}",
             f"  subsystems:    {', '.join(doc['subsystems']) or 'none'}"]
    for server in doc["owned_servers"]:
        lines.append(f"  owns server:   {server['id']} {server['address'] or '(no address)'}"
                     f"  clients: {', '.join(server['clients']) or 'none'}")
    for hosted in doc["registered_on"]:
        state = "" if hosted["enabled"] else " (disabled)"
        lines.append(f"  client:        {hosted['client']} on {hosted['server']}{state}")
    typer.echo("\n".join(lines))


@subsystem_app.command("add")
def add_subsystem(
    subsystem: Annotated[str, typer.Argument(
        help="INSTANCE/CLASS/CODE/SUBSYSTEM, e.g. MN/COM/NEWCO/reports.")],
    data_dir: DataDir = Path("var"), central_url: CentralUrl = None, key_file: KeyFile = None,
) -> None:
    """Add a subsystem to a registered member."""
    sub = _client_id(subsystem, subsystem=True)
    central = CentralClient.of(data_dir, central_url, key_file)
    _same_instance(central, sub)
    central.call("POST", f"/api/v1/members/{_path(sub.member)}/subsystems",
                 body={"subsystem_code": sub.subsystem_code})
    typer.echo(f"added subsystem {sub}")
