"""The benchmark's payload-size runs: the payload provider (a real process on a real socket),
the check of every answer, the registration in serverconf, the load generator against the
provider, and the report section. No numbers are asserted: machines are noisy."""

from __future__ import annotations

import asyncio
import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, replace
from pathlib import Path

import pytest

from bench import report
from bench.blob import MAX_SIZE, blob_bytes
from bench.load import LoadSpec, error_excerpt, generate
from bench.payload import (
    KIB,
    MIB,
    PORTAL,
    SERVICE_CODE,
    SERVICE_PROVIDER,
    PayloadMethod,
    PayloadResult,
    payload_problem,
    size_label,
    target_path,
)
from bench.payload_run import BlobProcess, registered, start_blob, with_blob_service
from xroad.access import check_access
from xroad.errors import AccessDenied
from xroad.identifiers import ClientId, ServiceId
from xroad.serverconf import ServiceType, parse, render

SERVERCONF = """server_id = "MN/GOV/GASR/ss1"

[[clients]]
id = "MN/GOV/GASR/civil-registry"

[[services]]
provider = "MN/GOV/GASR/civil-registry"
code = "persons"
type = "REST"
url = "http://127.0.0.1:9/"
"""


@pytest.fixture(scope="module")
def blob(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BlobProcess]:
    process = start_blob(tmp_path_factory.mktemp("blob") / "blob.log")
    try:
        yield process
    finally:
        process.stop()


def fetch(url: str, data: bytes | None = None) -> tuple[int, str, bytes]:
    method = "POST" if data is not None else "GET"
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            return response.status, response.headers.get_content_type(), response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get_content_type(), e.read()


def test_blobs_are_deterministic_prefixes_of_each_other() -> None:
    assert len(blob_bytes(100 * KIB)) == 100 * KIB
    assert blob_bytes(100 * KIB)[:KIB] == blob_bytes(KIB)
    assert len(set(blob_bytes(KIB))) > 200  # not a constant fill that compresses away
    with pytest.raises(ValueError, match="size"):
        blob_bytes(MAX_SIZE + 1)


def test_the_provider_serves_blobs_and_echoes_bodies(blob: BlobProcess) -> None:
    assert blob.url.startswith("http://127.0.0.1:")
    status, kind, body = fetch(blob.url + target_path("GET", 5 * MIB))
    assert (status, kind) == (200, "application/octet-stream")
    assert body == blob_bytes(5 * MIB)
    sent = blob_bytes(100 * KIB)
    assert fetch(blob.url + target_path("POST", 100 * KIB), sent) == (
        200, "application/octet-stream", sent)


@pytest.mark.parametrize(("path", "status", "kind"), [
    ("/blob/abc", 400, "InvalidSize"),
    ("/blob/-1", 400, "InvalidSize"),
    (f"/blob/{MAX_SIZE + 1}", 400, "InvalidSize"),
    ("/blob/99999999999999999999", 400, "InvalidSize"),
])
def test_bad_sizes_get_a_json_error(blob: BlobProcess, path: str, status: int, kind: str) -> None:
    got, content_type, body = fetch(blob.url + path)
    assert (got, content_type) == (status, "application/json")
    assert json.loads(body)["type"] == kind


def test_a_body_over_the_limit_is_refused(blob: BlobProcess) -> None:
    status, content_type, body = fetch(blob.url + "/echo", b"\0" * (MAX_SIZE + 1))
    assert (status, content_type) == (413, "application/json")
    assert json.loads(body)["type"] == "TooLarge"


def test_only_the_exact_payload_is_a_correct_answer() -> None:
    expected = blob_bytes(KIB)
    assert payload_problem((200, {}, expected), expected) is None
    assert payload_problem((500, {"X-Road-Error": "Server.ServerProxy.AccessDenied"}, b"{}"),
                           expected) == "HTTP 500 Server.ServerProxy.AccessDenied"
    assert payload_problem((404, {}, b""), expected) == "HTTP 404"
    assert payload_problem((200, {"X-Road-Error": "Client.InvalidMessage"}, expected),
                           expected) == "HTTP 200 X-Road-Error Client.InvalidMessage"
    assert payload_problem((200, {}, expected[:-1]), expected) == (
        f"HTTP 200 payload of {KIB - 1} bytes instead of {KIB}")
    flipped = expected[:-1] + bytes([expected[-1] ^ 1])
    assert payload_problem((200, {}, flipped), expected) == (
        f"HTTP 200 payload differs from byte {KIB - 1} on")


def test_size_labels() -> None:
    assert [size_label(n) for n in (KIB, 100 * KIB, 5 * MIB, 1000)] == [
        "1KiB", "100KiB", "5MiB", "1000B"]


def test_the_registration_lets_the_portal_get_and_post_only() -> None:
    conf = with_blob_service(parse(SERVERCONF), "http://127.0.0.1:1234")
    assert parse(render(conf)) == conf
    service = ServiceId(ClientId.parse(SERVICE_PROVIDER), SERVICE_CODE)
    description = conf.service(service)
    assert (description.type, description.url) == (ServiceType.REST, "http://127.0.0.1:1234")
    portal = ClientId.parse(PORTAL)
    check_access(portal, service, conf.access_rights, method="GET", path="/blob/1024")
    check_access(portal, service, conf.access_rights, method="POST", path="/echo")
    with pytest.raises(AccessDenied):
        check_access(portal, service, conf.access_rights, method="DELETE", path="/echo")
    with pytest.raises(AccessDenied):
        check_access(ClientId.parse("MN/GOV/GASR/civil-registry"), service, conf.access_rights,
                     method="GET", path="/blob/1024")


def test_the_original_serverconf_comes_back_exactly(tmp_path: Path) -> None:
    path = tmp_path / "serverconf.toml"
    path.write_text(SERVERCONF + "# an operator's comment\n")
    with registered(path, "http://127.0.0.1:1234"):
        during = parse(path.read_text())
        assert [s.service_code for s in during.services] == ["persons", SERVICE_CODE]
    assert path.read_text() == SERVERCONF + "# an operator's comment\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["serverconf.toml"]


def _spec(blob_url: str, method: PayloadMethod, size: int) -> LoadSpec:
    return LoadSpec(path="blob-direct", civil_url="", client_url="", concurrency=2,
                    duration_s=0.4, warmup_s=0.1, blob_url=blob_url,
                    payload_method=method, payload_size=size)


@pytest.mark.parametrize(("method", "size"), [("GET", 100 * KIB), ("POST", 100 * KIB)])
def test_the_load_generator_checks_payloads(blob: BlobProcess, method: PayloadMethod,
                                            size: int) -> None:
    result = asyncio.run(generate(_spec(blob.url, method, size), "asyncio"))
    assert result.errors == 0, result.error_samples
    assert result.requests > 0


def test_the_load_generator_counts_a_provider_that_is_not_there_as_errors() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again before the requests: nothing listens there
    result = asyncio.run(generate(_spec(f"http://127.0.0.1:{port}", "GET", KIB), "asyncio"))
    assert result.requests == 0
    assert result.errors > 0
    assert all(kind.startswith("ClientConnectorError") for kind in result.error_kinds)


def _result(method: str, size: int, path: str, rps: float, peak: float) -> PayloadResult:
    return PayloadResult(
        method=method, size=size, size_label=size_label(size), path=path, concurrency=8,
        window_s=4.0, requests=int(rps * 4), rps=rps, mib_per_s=round(rps * size / MIB, 2),
        latency_ms={"p50": 1.0, "p95": 2.0, "p99": 3.0, "mean": 1.2, "max": 4.0}, errors=0,
        error_kinds={}, error_samples=[], cpu_s={},
        ss_rss_mb_before={"ss-consumer": 100.0, "ss-provider": 100.0},
        ss_peak_rss_mb={"ss-consumer": peak, "ss-provider": peak + 1}, peak_rss_since="run start")


RESULTS = [
    _result("GET", KIB, "direct", 1000.0, 100.0), _result("GET", KIB, "rest", 250.0, 110.0),
    _result("GET", 5 * MIB, "direct", 40.0, 100.0), _result("GET", 5 * MIB, "rest", 10.0, 130.0),
    _result("POST", 5 * MIB, "direct", 20.0, 100.0), _result("POST", 5 * MIB, "rest", 4.0, 150.0),
]


def test_the_summary_has_a_ratio_a_rate_and_a_peak_per_size() -> None:
    summary = report.payload_summary(RESULTS, ("ss-consumer", "ss-provider"))
    assert summary["payload_ratio_rest"] == {"1KiB": 0.25, "5MiB": 0.25}
    assert summary["payload_ratio_rest_post"] == {"5MiB": 0.2}
    assert summary["payload_mib_per_s_rest"] == {"1KiB": 0.24, "5MiB": 50.0}
    assert summary["payload_ss_peak_rss_mb"] == {"1KiB": 111.0, "5MiB": 151.0}


def test_the_markdown_section_has_one_row_per_method_and_size() -> None:
    doc = {"settings": {"payload_duration_s": 4.0, "payload_warmup_s": 0.7},
           "payload_runs": [asdict(r) for r in RESULTS]}
    lines = report.payload_markdown(doc)
    assert "## Throughput versus payload size" in lines
    rows = [line for line in lines if line.startswith(("| GET", "| POST"))]
    assert [row.split(" | ")[:2] for row in rows] == [
        ["| GET", "1KiB"], ["| GET", "5MiB"], ["| POST", "5MiB"]]
    assert "| 0.25 |" in rows[0]
    assert "| 130 / 131 |" in rows[1]
    assert report.payload_markdown({"settings": {}, "payload_runs": []}) == []
    assert report.payload_markdown({"settings": {}}) == []


def test_a_result_survives_the_json_document() -> None:
    assert PayloadResult(**json.loads(json.dumps(asdict(RESULTS[1])))) == RESULTS[1]


def test_error_samples_show_text_but_not_binary_payloads() -> None:
    assert error_excerpt(b'{"type": "AccessDenied"}') == '{"type": "AccessDenied"}'
    assert error_excerpt(("a" + "Ө" * 400).encode()) == "a" + "Ө" * 299  # 600 bytes: cut in Ө
    assert error_excerpt(("Ө" * 400).encode()[1:]) == "(799 bytes of binary)"
    assert error_excerpt(blob_bytes(KIB)) == f"({KIB} bytes of binary)"


def test_a_failed_payload_request_fails_the_benchmark() -> None:
    failed = replace(RESULTS[3], errors=2, error_kinds={"HTTP 502 Server.ServerProxy.X": 2})
    doc = report.build(report.Measurements(
        mode="quick", started_at="2026-01-01T00:00:00+00:00", elapsed_s=1.0,
        settings={"headline_concurrency": 8, "duration_s": 1.0, "warmup_s": 0.1,
                  "payload_duration_s": 4.0, "payload_warmup_s": 0.7},
        runs=[], before={}, after={},
        micro={"audit_sqlite": {"appends_per_s": 1}, "signing": {"sign_per_s": 1,
               "verify_per_s": 1}, "audit_postgresql": {"appends_per_s": None, "reason": "-"}},
        machine={"cpus_available": 2, "cpu_model": "test", "python": "3", "loadavg_1m_at_start": 0},
        log_problems={}, security_servers=("ss-consumer", "ss-provider"),
        payload_runs=[*RESULTS[:3], failed, *RESULTS[4:]]))
    assert (doc["errors"], doc["payload_errors"]) == (2, 2)  # run.main exits 1 on doc["errors"]
    assert doc["errors_by_kind"] == {"HTTP 502 Server.ServerProxy.X": 2}
    assert doc["payload_runs"][3]["errors"] == 2
    text = report.markdown(doc)
    assert "## Throughput versus payload size" in text
    assert "| 0 / 2 |" in text
