"""The audit trail against a database writer: tampering with the real database (SQLite file
through sqlite3, PostgreSQL through SQL) is caught by `dsr audit verify` (a subprocess: exit
code and the request named) and by ``chain_intact``; an exported trail verifies with the
published key alone and fails when one byte of it changes."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from app.audit import keys, trail
from app.db import create_engine
from app.models import AuditEvent, DsrRequest
from app.services.audit import GENESIS, _canonical
from tests.conftest import BACKEND, ROOT
from tests.helpers import agent_body, create


def _env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DSR_")}
    env.update({"DSR_DATABASE_URL": database_url, "PYTHONPATH": str(ROOT), **extra})
    return env


def dsr(database_url: str, *args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=cwd,
                          env=_env(database_url, **env), capture_output=True, text=True,
                          timeout=120, check=False)


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)


async def _walk(client, agent) -> uuid.UUID:  # type: ignore[no-untyped-def]
    """A request with five events: created, verified, extended, task_cancelled, cancelled."""
    rid = (await create(client, agent, agent_body()))["id"]
    await client.post(f"/v1/requests/{rid}/verify", json={"method": "bankid"}, headers=agent)
    await client.post(f"/v1/requests/{rid}/extend", json={"months": 1, "reason": "x"},
                      headers=agent)
    await client.post(f"/v1/requests/{rid}/cancel", json={"note": "x"}, headers=agent)
    return uuid.UUID(rid)


def _id(rid: uuid.UUID) -> Any:
    return rid.hex if BACKEND == "sqlite" else rid  # sa.Uuid: CHAR(32) on SQLite


async def _sql(database_url: str, *statements: tuple[str, dict[str, Any]]) -> None:
    """Write to the database as an outsider: sqlite3 on the file, or plain SQL."""
    if BACKEND == "sqlite":
        db = sqlite3.connect(database_url.split("///", 1)[1])
        db.execute("PRAGMA foreign_keys=ON")
        for statement, params in statements:
            db.execute(statement, params)
        db.commit()
        db.close()
        return
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            for statement, params in statements:
                await conn.execute(text(statement), params)
    finally:
        await engine.dispose()


async def _chain_intact(client, agent, rid: uuid.UUID) -> bool:  # type: ignore[no-untyped-def]
    response = await client.get(f"/v1/requests/{rid}/events", headers=agent)
    assert response.status_code == 200, response.text
    return bool(response.json()["chain_intact"])


async def test_intact_trails_verify(client, agent, database_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    first, second = await _walk(client, agent), await _walk(client, agent)
    assert await _chain_intact(client, agent, first)
    result = dsr(database_url, "audit", "verify", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all audit trails hold: 2 requests, 10 events" in result.stdout
    assert str(first) not in result.stdout and str(second) not in result.stdout


async def test_an_edited_event_rechained_the_old_way_is_caught(  # type: ignore[no-untyped-def]
        client, agent, app, database_url, tmp_path) -> None:
    rid, other = await _walk(client, agent), await _walk(client, agent)
    # The forger edits event 2 and recomputes every hash after it, and the request's head,
    # with the project's own (formerly unkeyed) chain function: the old check passed this.
    async with app.state.sessionmaker() as session, session.begin():
        events = list(await session.scalars(select(AuditEvent).where(
            AuditEvent.request_id == rid).order_by(AuditEvent.seq)))  # type: ignore[arg-type]
        events[1].actor = "forger"
        prev = GENESIS
        for event in events:
            fields = {k: getattr(event, k) for k in (
                "request_id", "seq", "at", "actor", "actor_role", "action", "from_status",
                "to_status", "data")}
            event.prev_hash = prev
            event.hash = hashlib.sha256(prev.encode() + b"\n" + _canonical(fields)).hexdigest()
            prev = event.hash
        request = await session.get(DsrRequest, rid)
        assert request is not None
        request.audit_head = prev
    assert not await _chain_intact(client, agent, rid)
    assert await _chain_intact(client, agent, other)
    result = dsr(database_url, "audit", "verify", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"FAILED request {rid}: the event was altered (event 1)" in result.stdout
    assert str(other) not in result.stdout + result.stderr


async def test_deleted_newest_events_are_caught(  # type: ignore[no-untyped-def]
        client, agent, database_url, tmp_path) -> None:
    rid, other = await _walk(client, agent), await _walk(client, agent)
    # cut off events 4 and 5, and set the request's head back to event 3 (a careful writer)
    await _sql(database_url,
               ("DELETE FROM audit_event WHERE request_id = :rid AND seq > 3", {"rid": _id(rid)}),
               ("UPDATE dsr_request SET audit_seq = 3, audit_head = (SELECT hash FROM "
                "audit_event WHERE request_id = :rid AND seq = 3) WHERE id = :rid",
                {"rid": _id(rid)}))
    assert not await _chain_intact(client, agent, rid)
    assert await _chain_intact(client, agent, other)
    result = dsr(database_url, "audit", "verify", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"FAILED request {rid}: events 4..5 are missing" in result.stdout
    assert str(other) not in result.stdout + result.stderr


async def test_a_deleted_request_is_caught(client, agent, database_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rid, other = await _walk(client, agent), await _walk(client, agent)
    await _sql(database_url, ("DELETE FROM dsr_request WHERE id = :rid", {"rid": _id(rid)}))
    assert (await client.get(f"/v1/requests/{rid}/events", headers=agent)).status_code == 404
    assert await _chain_intact(client, agent, other)
    result = dsr(database_url, "audit", "verify", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"FAILED request {rid}: missing: deleted (the ledger has 5 events" in result.stdout
    assert str(other) not in result.stdout + result.stderr


async def test_a_request_deleted_with_its_ledger_entries_is_caught(  # type: ignore[no-untyped-def]
        client, agent, database_url, tmp_path) -> None:
    rid = await _walk(client, agent)
    await _walk(client, agent)  # later entries: the deleted ones leave a gap
    await _sql(database_url,
               ("DELETE FROM audit_ledger WHERE request_id = :rid", {"rid": _id(rid)}),
               ("DELETE FROM dsr_request WHERE id = :rid", {"rid": _id(rid)}))
    result = dsr(database_url, "audit", "verify", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAILED ledger: entries 1..4 are missing" in result.stdout


async def test_a_forged_ledger_entry_is_caught(  # type: ignore[no-untyped-def]
        client, agent, database_url, tmp_path) -> None:
    rid = await _walk(client, agent)
    await _sql(database_url, ("DELETE FROM audit_event WHERE request_id = :rid AND seq = 5",
                              {"rid": _id(rid)}),
               ("UPDATE dsr_request SET audit_seq = 4, audit_head = (SELECT hash FROM "
                "audit_event WHERE request_id = :rid AND seq = 4) WHERE id = :rid",
                {"rid": _id(rid)}),
               ("UPDATE audit_ledger SET event_seq = 4, head = (SELECT hash FROM audit_event "
                "WHERE request_id = :rid AND seq = 4) WHERE request_id = :rid AND "
                "event_seq = 5", {"rid": _id(rid)}))
    result = dsr(database_url, "audit", "verify", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "was altered or forged" in result.stdout and str(rid) in result.stdout


async def test_an_exported_trail_verifies_with_the_public_key_alone(  # type: ignore[no-untyped-def]
        client, agent, database_url, tmp_path) -> None:
    rid = await _walk(client, agent)
    exported = tmp_path / "trail.json"
    result = dsr(database_url, "audit", "export", str(rid), "--output", str(exported),
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    public = dsr(database_url, "audit", "public-key", cwd=tmp_path).stdout.strip()
    assert public == keys.public_key_text(keys.current().public)
    pem = tmp_path / "audit.pem"
    pem.write_text(dsr(database_url, "audit", "public-key", "--pem", cwd=tmp_path).stdout)

    # the auditor: no settings, no secret, no database
    nowhere = "postgresql+asyncpg://nobody@127.0.0.1:1/none"
    for key in (public, str(pem)):
        checked = dsr(nowhere, "audit", "verify", "--file", str(exported), "--public-key", key,
                      cwd=tmp_path)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert f"OK: request {rid}, 5 events" in checked.stdout

    raw = exported.read_bytes()
    openssl = shutil.which("openssl")
    if openssl:  # or any standard Ed25519 tool, given the payload's bytes
        envelope = json.loads(raw)
        (tmp_path / "msg").write_bytes(envelope["payload"].encode())
        (tmp_path / "sig").write_bytes(base64.b64decode(envelope["signature"]))
        checked = _run([openssl, "pkeyutl", "-verify", "-pubin", "-inkey", str(pem), "-rawin",
                        "-in", str(tmp_path / "msg"), "-sigfile", str(tmp_path / "sig")])
        assert checked.returncode == 0 and "Verified Successfully" in checked.stdout
    verdict = trail.verify_file(raw, keys.load_public_key(public))
    assert (verdict.request_id, verdict.events) == (str(rid), 5)
    for position in range(len(raw)):  # one byte changed anywhere: refused
        changed = bytearray(raw)
        changed[position] ^= 0x01
        with pytest.raises(trail.FileRefused):
            trail.verify_file(bytes(changed), keys.load_public_key(public))
    changed = bytearray(raw)
    middle = raw.index(b"extended")
    changed[middle] = ord("E")
    tampered = tmp_path / "tampered.json"
    tampered.write_bytes(bytes(changed))
    refused = dsr(nowhere, "audit", "verify", "--file", str(tampered), "--public-key", public,
                  cwd=tmp_path)
    assert refused.returncode == 1 and "FAILED" in refused.stderr
    # another service's key does not verify it
    other = keys.public_key_text(keys.AuditKeys(b"another-service-key" * 2).public)
    refused = dsr(nowhere, "audit", "verify", "--file", str(exported), "--public-key", other,
                  cwd=tmp_path)
    assert refused.returncode == 1 and "another key" in refused.stderr


async def test_a_broken_trail_is_not_exported(client, agent, database_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rid = await _walk(client, agent)
    await _sql(database_url, ("UPDATE audit_event SET actor = 'x' WHERE request_id = :rid AND "
                              "seq = 2", {"rid": _id(rid)}))
    result = dsr(database_url, "audit", "export", str(rid), cwd=tmp_path)
    assert result.returncode == 1 and "not exported" in result.stderr and not result.stdout


async def test_another_audit_key_does_not_verify(client, agent, database_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rid = await _walk(client, agent)
    result = dsr(database_url, "audit", "verify", cwd=tmp_path,
                 DSR_AUDIT_KEY="not-the-key-the-trail-was-chained-with")
    assert result.returncode == 1 and str(rid) in result.stdout
