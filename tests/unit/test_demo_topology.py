"""Demo instances other than MN come from a seed with a `[demo]` table (federation tests)."""

from pathlib import Path

import pytest

from xroad.central.seed import parse_seed
from xroad.demo.bootstrap import load_demo
from xroad.demo.topology import MN_DEMO, demo_topology, free_ports, servers
from xroad.errors import InvalidMessage
from xroad.identifiers import ClientId, SecurityServerId

LA_SEED = Path(__file__).parents[2] / "xroad" / "demo" / "la-instance.toml"

SEED = """
instance = "LA"
[[member_classes]]
code = "GOV"
[[members]]
id = "LA/GOV/MOHA"
name = "MOHA"
subsystems = ["civil-registry", "portal"]
[[security_servers]]
id = "LA/GOV/MOHA/ss1"
clients = ["LA/GOV/MOHA/civil-registry"]
[[security_servers]]
id = "LA/GOV/MOHA/ss2"
clients = ["LA/GOV/MOHA/portal"]
"""


def test_the_default_demo_is_mn():
    demo = load_demo()
    assert demo.seed.instance == "MN"
    assert demo.topology == MN_DEMO


def test_the_la_seed_describes_a_demo_of_its_own():
    demo = load_demo(LA_SEED)
    assert demo.seed.instance == demo.topology.instance == "LA"
    assert demo.topology.portal == ClientId.parse("LA/GOV/MOHA/portal")
    assert [a.subsystem for a in demo.topology.adapters] == [
        ClientId.parse("LA/GOV/MOHA/civil-registry")]
    assert demo.topology.default_ports is None
    ports = free_ports(demo.topology)
    # central, 3 + 1 + OCSP + TSA + portal (reserved; the LA demo starts none) + console
    assert len(set(ports.all())) == len(ports.all()) == 9
    assert [s.id for s in servers(ports, demo.topology)] == [
        SecurityServerId.parse("LA/GOV/MOHA/ss1")]


def test_the_demo_client_s_server_comes_first():
    text = SEED + '[demo]\nportal = "LA/GOV/MOHA/portal"\n'
    topology = demo_topology(parse_seed(text), text)
    assert topology.server_ids == (SecurityServerId.parse("LA/GOV/MOHA/ss2"),
                                   SecurityServerId.parse("LA/GOV/MOHA/ss1"))


@pytest.mark.parametrize(("demo", "message"), [
    ("", "needs a [demo] table"),
    ('[demo]\nportal = "LA/GOV/MOHA/nobody"\n', "hosted on no security server"),
    ('[demo]\nportal = "LA/GOV/MOHA/portal"\n[[demo.adapters]]\nname = "fishery"\n'
     'subsystem = "LA/GOV/MOHA/civil-registry"\nserver = "LA/GOV/MOHA/ss1"\n',
     "unknown demo adapter 'fishery'"),
    ('[demo]\nportal = "LA/GOV/MOHA/portal"\n[[demo.adapters]]\nname = "civil"\n'
     'subsystem = "LA/GOV/MOHA/civil-registry"\nserver = "LA/GOV/MOHA/ss2"\n',
     "not hosted on LA/GOV/MOHA/ss2"),
], ids=["missing", "portal-not-hosted", "unknown-adapter", "adapter-elsewhere"])
def test_a_demo_table_that_does_not_fit_the_seed_is_refused(demo, message):
    with pytest.raises(InvalidMessage, match=message.replace("[", r"\[")):
        demo_topology(parse_seed(SEED + demo), SEED + demo)


def test_the_portal_has_a_port_of_its_own():
    assert MN_DEMO.default_ports is not None
    assert MN_DEMO.default_ports.portal == 9100
    assert 9100 in MN_DEMO.default_ports.all()
    ports = free_ports(MN_DEMO)
    assert len(set(ports.all())) == len(ports.all())
    assert ports.portal in ports.all()
