"""What `xroad init` tells the operator at the end, and leaves in NEXT-STEPS.txt (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from xroad.newinstance.launch import PIN_VARIABLE, Component
from xroad.newinstance.layout import InstanceLayout
from xroad.newinstance.plan import ApprovedCa, DevPki, InstancePlan


@dataclass(frozen=True, slots=True)
class CreatedInstance:
    plan: InstancePlan
    layout: InstanceLayout  # where it is now (the final directory)
    anchor_sha256: str  # of the anchor file's bytes, as `sha256sum` prints it
    pin_stored: bool  # generated and kept in secrets/token-pin, or given in XROAD_TOKEN_PIN
    admin_key: bool  # an administrator API key is in secrets/admin-api-key
    components: tuple[Component, ...]
    approved_cas: tuple[ApprovedCa, ...]


def render_summary(created: CreatedInstance) -> str:
    plan, layout = created.plan, created.layout
    width = max(len(c.title) for c in created.components)
    lines = [
        f"Instance {plan.instance} ({plan.name}) is ready in {layout.root}",
        "",
        f"  configuration anchor  {layout.anchor}",
        f"  anchor SHA-256        {created.anchor_sha256}",
        "                        (read it to agencies by phone; they check their copy with "
        f"sha256sum {layout.anchor.name})",
        "  token PIN             " + (
            f"{layout.pin_file} (generated; readable by you only)" if created.pin_stored
            else f"the one in {PIN_VARIABLE} (not stored: set it to start the components)"),
    ]
    if created.admin_key:
        lines.append(f"  admin API key         {layout.admin_key_file} (administrator role)")
    lines.append(f"  approved CAs          {layout.ca_certs}")
    lines += [f"    {ca.name}  (OCSP {ca.ocsp_url})" for ca in created.approved_cas]
    lines += ["", "Components (one command each, in this order; Ctrl-C stops one):"]
    lines += [f"  {c.title:<{width}}  {c.url:<24}  {layout.start_script(c.name)}"
              for c in reversed(created.components)]
    central = created.components[0]
    lines += [
        "",
        "Next steps (step by step in docs/new-instance.md):",
        f"  1. Start the components above, then check: curl {central.url}/health",
        f"  2. Give {layout.anchor.name} and {layout.ca_certs.name} to each member "
        "organization that",
        "     sets up a security server; they check the anchor's SHA-256 with you by phone.",
        "  3. Issue their security servers' authentication and signing certificates"
        + (" (dev PKI)." if isinstance(plan.trust, DevPki) else " (your CA)."),
        "  4. Register their members, subsystems and security servers; approve the requests.",
        "  5. On the provider's security server, grant access (xroad acl grant); then call.",
    ]
    if isinstance(plan.trust, DevPki):
        lines += ["",
                  f"The dev PKI in {layout.pki} is TEST ONLY: its CA keys are on this disk. "
                  "For production,",
                  "run xroad init with --ca-cert, --ocsp-url and --tsa-url of the country's "
                  "CA and TSA."]
    return "\n".join(lines)
