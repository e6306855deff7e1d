"""The service's HTTP contract (issue 18, finding 10), against a real `headsmith serve` on
loopback: schemathesis fuzzes every operation for a bounded time and finds no server error, no
response that breaks its schema and no undocumented status; the schema itself says what the
service refuses; the docs need the token; only loopback Host headers are served."""
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from headsmith.service import ServiceSettings
from headsmith.service.local import serve_in_thread

FUZZ_SECONDS = 60


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    s = ServiceSettings(jobs_root=tmp_path_factory.mktemp("jobs"))
    with serve_in_thread(s) as port:
        yield s, f"http://127.0.0.1:{port}"


def test_schemathesis_finds_no_fault(service, tmp_path):
    """Every check but `positive_data_acceptance`: a schema-valid request may still be refused
    with a documented 422 when what it names is wrong (a path that is no bundle, bytes that are
    no photo, DECA's file without FLAME), which no schema can say."""
    s, url = service
    st = Path(sys.executable).with_name("schemathesis")
    p = subprocess.run([str(st), "run", f"{url}/openapi.json", "-H", f"Authorization: Bearer {s.token}",
                        "--max-time", str(FUZZ_SECONDS), "--checks", "all",
                        "--exclude-checks", "positive_data_acceptance", "--workers", "1", "--seed", "17"],
                       capture_output=True, text=True, cwd=tmp_path, timeout=FUZZ_SECONDS + 240)
    out = p.stdout
    ops = re.search(r"Tested:\s+(\d+)", out)
    cases = re.search(r"(\d+) generated", out)
    print(f"schemathesis: {ops and ops.group(1)} operations, {cases and cases.group(1)} generated cases")
    assert p.returncode == 0, out[-4000:] + p.stderr[-2000:]
    assert ops and int(ops.group(1)) == 10 and cases and int(cases.group(1)) > 100, out[-2000:]
    for code in ("ST101", "ST103", "ST104", "ST105"):   # server error, undocumented status, schema, headers
        assert code not in out, out[-4000:]


def test_the_docs_need_the_token_and_hosts_are_checked(service):
    s, url = service
    auth = {"Authorization": f"Bearer {s.token}"}
    with httpx.Client(base_url=url, trust_env=False, timeout=10) as c:
        assert c.get("/openapi.json").status_code == 401
        assert c.get("/openapi.json", headers=auth).status_code == 200
        assert c.get("/docs").status_code == 404 and c.get("/redoc").status_code == 404
        assert c.get("/health", headers={**auth, "Host": "attacker.example"}).status_code == 400   # DNS rebinding
        r = c.options("/jobs/abc", headers=auth)
        assert r.status_code == 204 and r.headers["allow"] == "DELETE, GET, OPTIONS"


def test_the_schema_says_what_is_refused(service):
    s, url = service
    o = httpx.get(f"{url}/openapi.json", headers={"Authorization": f"Bearer {s.token}"}, trust_env=False).json()
    schemas = o["components"]["schemas"]
    form = schemas[o["paths"]["/reconstruct"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
                   ["$ref"].split("/")[-1]]
    assert form["properties"]["photos"]["minItems"] == 1 and form["properties"]["photos"]["maxItems"] == 8
    avatar = schemas["OpenAvatar"]
    assert avatar["minProperties"] == avatar["maxProperties"] == 1 and avatar["additionalProperties"] is False
    assert all(v == {"type": "string", "title": v["title"]} for v in avatar["properties"].values())   # no null
    decode = schemas["DecodeRequest"]["properties"]
    assert decode["jaw"]["minItems"] == decode["jaw"]["maxItems"] == 3 and decode["size"]["enum"] == [256, 512, 1024]
    for path, method in (("/jobs/{jid}", "get"), ("/jobs/{jid}", "delete"), ("/jobs/{jid}/bundle", "get"),
                         ("/avatars/{aid}/decode", "post"), ("/avatars/{aid}/bake", "post")):
        assert "404" in o["paths"][path][method]["responses"], (path, method)
    assert "409" in o["paths"]["/jobs/{jid}/bundle"]["get"]["responses"]
