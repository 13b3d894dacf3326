"""check_access with group subjects and REST endpoint rights (traversal never matches)."""

import pytest

from xroad.access import AccessRight, Endpoint, check_access, request_segments
from xroad.errors import AccessDenied
from xroad.identifiers import ClientId, GlobalGroupId, LocalGroupId, ServiceId

LAND = ClientId.parse("MN/GOV/ALAMGAC/land")
TAX = ClientId.parse("MN/GOV/MTA/tax")
CIVIL = ClientId.parse("MN/GOV/GASR/civil")
PERSONS = ServiceId(CIVIL, "persons")
AUDITORS = GlobalGroupId("MN", "tax-auditors")


@pytest.mark.parametrize(("subject", "client", "allowed"), [
    pytest.param(LocalGroupId("registries"), LAND, True, id="local-group-member"),
    pytest.param(LocalGroupId("registries"), TAX, False, id="not-in-local-group"),
    pytest.param(LocalGroupId("unknown"), LAND, False, id="undefined-local-group"),
    pytest.param(AUDITORS, TAX, True, id="global-group-member"),
    pytest.param(AUDITORS, LAND, False, id="not-in-global-group"),
    pytest.param(GlobalGroupId("EE", "tax-auditors"), TAX, False, id="group-of-other-instance"),
])
def test_group_subjects(subject, client, allowed):
    rights = [AccessRight(subject, CIVIL, "persons")]
    groups = {"local_groups": {"registries": frozenset({LAND})},
              "global_groups": {AUDITORS: frozenset({TAX})}}
    if allowed:
        check_access(client, PERSONS, rights, **groups)
    else:
        with pytest.raises(AccessDenied):
            check_access(client, PERSONS, rights, **groups)


def test_group_subject_without_groups_given_denies():
    with pytest.raises(AccessDenied):
        check_access(LAND, PERSONS, [AccessRight(LocalGroupId("registries"), CIVIL, "persons")])


ENDPOINT_RIGHTS = [
    AccessRight(LAND, CIVIL, "persons", Endpoint("GET", "/persons/*")),
    AccessRight(LAND, CIVIL, "persons", Endpoint("*", "/public/**")),
    AccessRight(LAND, CIVIL, "persons", Endpoint("POST", "/")),
]

ENDPOINTS = {
    "one-segment-wildcard": ("GET", "/persons/42", True),
    "method-case-insensitive": ("get", "/persons/42", True),
    "cyrillic-segment": ("GET", "/persons/%D0%91%D0%B0%D1%82", True),
    "other-method": ("DELETE", "/persons/42", False),
    "too-deep-for-star": ("GET", "/persons/42/photo", False),
    "star-needs-a-segment": ("GET", "/persons", False),
    "double-star-any-depth": ("PUT", "/public/a/b/c", True),
    "double-star-zero-segments": ("PUT", "/public", True),
    "root-endpoint": ("POST", "/", True),
    "root-endpoint-empty-path": ("POST", "", True),
    "unlisted-path": ("GET", "/secret", False),
    "dot-dot-escape": ("GET", "/persons/../secret", False),
    "dot-dot-under-double-star": ("GET", "/public/../secret", False),
    "encoded-dot-dot": ("GET", "/public/%2e%2e/secret", False),
    "encoded-slash": ("GET", "/persons/a%2Fb", False),
    "encoded-backslash": ("GET", "/persons/a%5Cb", False),
    "encoded-nul": ("GET", "/persons/a%00", False),
    "empty-segment": ("GET", "/persons//42", False),
    "trailing-slash": ("GET", "/persons/42/", False),
    "single-dot": ("GET", "/persons/.", False),
    "invalid-utf8": ("GET", "/persons/%FF", False),
    "no-leading-slash": ("GET", "persons/42", False),
}


@pytest.mark.parametrize(("method", "path", "allowed"), ENDPOINTS.values(),
                         ids=ENDPOINTS.keys())
def test_endpoint_rights(method, path, allowed):
    if allowed:
        check_access(LAND, PERSONS, ENDPOINT_RIGHTS, method=method, path=path)
    else:
        with pytest.raises(AccessDenied):
            check_access(LAND, PERSONS, ENDPOINT_RIGHTS, method=method, path=path)


def test_endpoint_right_needs_method_and_path():
    with pytest.raises(AccessDenied):
        check_access(LAND, PERSONS, ENDPOINT_RIGHTS)


def test_service_wide_right_covers_every_endpoint():
    rights = [AccessRight(LAND, CIVIL, "persons")]
    check_access(LAND, PERSONS, rights, method="DELETE", path="/anything/at/all")


def test_endpoint_path_must_be_absolute():
    with pytest.raises(ValueError, match="must start with"):
        Endpoint("GET", "persons")


@pytest.mark.parametrize(("path", "segments"), [
    ("", []),
    ("/", []),
    ("/a/b%20c", ["a", "b c"]),
    ("/a/../b", None),
    ("/a/%2E", None),
])
def test_request_segments(path, segments):
    assert request_segments(path) == segments
