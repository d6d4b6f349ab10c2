"""Schemathesis, every check on, against the committed openapi/openapi.json and a real
``dsr serve``: schema-valid input is accepted, invalid input is a 4xx, no answer is a 5xx, and
every answer (status, headers, content type, body) is what the document says.

The exceptions are the few rules no schema can state, listed with reasons in
tests/schemathesis.toml. The run is deterministic, so a finding reproduces.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT
from tests.e2e.conftest import Launch
from tests.e2e.service import bearer, token
from tests.helpers import agent_body


def test_schemathesis_finds_nothing(launch: Launch, tmp_path: Path) -> None:
    service = launch()
    with service.client() as http:
        created = http.post("/v1/requests", json=agent_body("erasure"),
                            headers=bearer("agent")).json()
        # extended, so that its extension letter exists for the notices operation
        http.post(f"/v1/requests/{created['id']}/extend", headers=bearer("agent"),
                  json={"months": 1, "reason": "Many requests this month"})
    env = {**os.environ, "DSR_FUZZ_TOKEN": token("agent", sub="schemathesis"),
           "DSR_FUZZ_REQUEST_ID": created["id"], "DSR_FUZZ_TASK_ID": created["tasks"][0]["id"],
           "NO_COLOR": "1"}
    run = subprocess.run(
        [str(Path(sys.executable).parent / "st"), "--config-file",
         str(ROOT / "tests" / "schemathesis.toml"), "run", str(ROOT / "openapi" / "openapi.json"),
         "--url", service.url, "--checks", "all", "--workers", "1", "--report-dir",
         str(tmp_path)],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr
    assert run.returncode == 0 and "No issues found" in summary, run.stdout[-6000:]
    assert "unhandled error" not in service.log_tail(400)
