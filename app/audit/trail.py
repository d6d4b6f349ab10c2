"""Checking every trail (``dsr audit verify``) and exporting one for an auditor
(``dsr audit export``, checked offline by ``dsr audit verify --file F --public-key K``).

Every trail is read in one snapshot (REPEATABLE READ on PostgreSQL; a read transaction on
SQLite), so a service writing meanwhile is not mistaken for a forger.

The exported file is one line of canonical JSON (sorted keys, no spaces, ASCII)::

    {"algorithm":"Ed25519","key_id":"…","payload":"<canonical JSON, as a string>",
     "signature":"<base64>"}

``signature`` is Ed25519 over the bytes of ``payload`` exactly, so any Ed25519 tool can check
it (``jq -j .payload F > msg; jq -r .signature F | base64 -d > sig; openssl pkeyutl -verify
-pubin -inkey audit.pem -rawin -in msg -sigfile sig``). The payload holds the request's id,
every event as the service chained it (with its keyed ``hash``, so two exports of one request
can be compared: the earlier must be a prefix of the later) and the checkpoint signed: the
number of events, the head and the ledger entry that recorded it. The file is refused unless
it is byte for byte as exported: one changed byte anywhere fails.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import uuid
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from app.answers.download import iter_package
from app.audit import keys as audit_keys
from app.audit.ledger import Checkpoint
from app.db import READ_ONLY, reading
from app.models import AuditEvent, AuditLedger, AuditLedgerHead, DsrRequest, ResponsePackage
from app.services import audit
from app.services.vault import Vault

FORMAT = "dsr-audit-trail/1"


@dataclass
class Verdict:
    """What ``dsr audit verify`` found: a line per request (or ledger range) that fails."""

    failures: list[str] = field(default_factory=list)
    requests: int = 0
    events: int = 0
    ledger_entries: int = 0
    purged: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures


async def _snapshot(session: AsyncSession) -> None:
    options: dict[str, Any] = {READ_ONLY: True}
    if session.get_bind().dialect.name == "postgresql":
        options["isolation_level"] = "REPEATABLE READ"
    await session.connection(execution_options=options)


async def verify_all(
    sessionmaker: async_sessionmaker[AsyncSession], keys: audit_keys.AuditKeys, *,
    now: datetime, retention_days: int, grace_days: int = 0, vault: Vault | None = None,
) -> Verdict:
    """Every trail against the key and the ledger. A request the ledger has that is gone
    counts as purged (not missing) when the retention purge may have deleted it: its last
    checkpoint is older than ``retention_days`` less ``grace_days`` (the events a finished
    request may still get, a download of its answer, come within the answer's retention).
    Given the ``vault``, also that the claims of each stored answer name events that exist."""
    verdict = Verdict()
    async with sessionmaker() as session:
        await _snapshot(session)
        points: dict[uuid.UUID, list[Checkpoint]] = defaultdict(list)
        expected = 1
        rows = await session.stream_scalars(select(AuditLedger).order_by(col(AuditLedger.seq)))
        async for row in rows:
            point = Checkpoint(row.seq, row.request_id, row.event_seq, row.head, row.at, row.mac)
            if point.seq != expected:
                verdict.failures.append(
                    f"ledger: entries {expected}..{point.seq - 1} are missing (deleted with "
                    "the trails they recorded)")
            expected = point.seq + 1
            if not point.valid(keys.ledger):
                verdict.failures.append(f"ledger: entry {point.seq} (request "
                                        f"{point.request_id}) was altered or forged")
                continue
            points[point.request_id].append(point)
            verdict.ledger_entries += 1
        counter = (await session.execute(
            select(AuditLedgerHead.seq).where(col(AuditLedgerHead.id) == 1))).scalar()
        if counter is not None and counter >= expected:
            verdict.failures.append(f"ledger: entries {expected}..{counter} (the newest) are "
                                    "missing")

        heads = {rid: (count, head) for rid, count, head in await session.execute(
            select(DsrRequest.id, DsrRequest.audit_seq, DsrRequest.audit_head))}
        verdict.requests = len(heads)
        seen: set[uuid.UUID] = set()

        def check(rid: uuid.UUID, events: list[AuditEvent]) -> None:
            seen.add(rid)
            verdict.events += len(events)
            if rid not in heads:
                verdict.failures.append(f"request {rid}: its events remain but the request "
                                        "was deleted")
                return
            count, head = heads[rid]
            report = audit.verify_events(
                events, head=head, count=count,
                checkpoints=sorted(points.get(rid, []), key=lambda p: (p.event_seq, p.seq)),
                keys=keys)
            if not report.ok:
                verdict.failures.append(f"request {rid}: {report.problem} (event "
                                        f"{report.broken_at})")

        current: uuid.UUID | None = None
        batch: list[AuditEvent] = []
        stream = await session.stream_scalars(
            select(AuditEvent).order_by(col(AuditEvent.request_id), col(AuditEvent.seq)))
        async for event in stream:
            if event.request_id != current:
                if current is not None:
                    check(current, batch)
                current, batch = event.request_id, []
            batch.append(event)
        if current is not None:
            check(current, batch)
        for rid in heads.keys() - seen:
            check(rid, [])

        cutoff = now - timedelta(days=retention_days - grace_days)
        for rid in points.keys() - heads.keys():
            last = max(points[rid], key=lambda p: p.event_seq)
            if last.at < cutoff:
                verdict.purged += 1  # as the retention purge does, after its period
            else:
                verdict.failures.append(
                    f"request {rid}: missing: deleted (the ledger has {last.event_seq} events "
                    f"of it, the last at {last.at.isoformat(timespec='seconds')}, within the "
                    f"{retention_days}-day retention period and its {grace_days}-day grace)")
    if vault is not None:
        verdict.failures += await _claims(sessionmaker, vault, heads)
    return verdict


async def _claims(sessionmaker: async_sessionmaker[AsyncSession], vault: Vault,
                  heads: dict[uuid.UUID, tuple[int, str]]) -> list[str]:
    """Each stored answer's ``claims`` (result.json / data.json) name events its trail has."""
    async with reading(sessionmaker) as session:
        packages = list(await session.scalars(select(ResponsePackage)))
    problems = []
    for package in packages:
        try:
            data = b"".join([piece async for piece in iter_package(sessionmaker, package,
                                                                   vault)])
        except RuntimeError:  # purged meanwhile
            continue
        count = heads.get(package.request_id, (0, ""))[0]
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for name in archive.namelist():
                if not name.endswith(("result.json", "data.json")):
                    continue
                claims = json.loads(archive.read(name)).get("claims") or []
                named = sorted({seq for claim in claims for seq in claim.get("evidence", ())
                                if not (isinstance(seq, int) and 1 <= seq <= count)})
                if named:
                    problems.append(f"request {package.request_id}: the answer's {name} "
                                    f"claims rest on events {named} the trail does not have")
    return problems


class ExportRefused(Exception):
    """The request's trail does not verify (or there is no such request): nothing is signed."""


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


async def export(
    sessionmaker: async_sessionmaker[AsyncSession], keys: audit_keys.AuditKeys,
    request_id: uuid.UUID, *, now: datetime,
) -> bytes:
    """The request's trail, signed, once it verifies against the key and the ledger."""
    async with sessionmaker() as session:
        await _snapshot(session)
        request = await session.get(DsrRequest, request_id)
        if request is None:
            raise ExportRefused(f"request {request_id}: no such request")
        events = list(await session.scalars(
            select(AuditEvent).where(col(AuditEvent.request_id) == request_id)
            .order_by(col(AuditEvent.seq))))
        points = await audit.checkpoints(session, request_id)
        report = audit.verify_events(events, head=request.audit_head, count=request.audit_seq,
                                     checkpoints=points, keys=keys)
        if not report.ok:
            raise ExportRefused(f"request {request_id}: {report.problem} (event "
                                f"{report.broken_at}); not exported")
    kid = audit_keys.key_id(keys.public)
    payload = _canonical({
        "format": FORMAT, "request_id": str(request_id),
        "exported_at": now.isoformat(timespec="seconds"), "key_id": kid,
        "checkpoint": {"events": len(events), "head": request.audit_head,
                       "ledger_entry": points[-1].seq if points else None},
        "events": [{"seq": e.seq, "at": e.at.isoformat(timespec="microseconds"),
                    "actor": e.actor, "actor_role": e.actor_role, "action": e.action,
                    "from": e.from_status, "to": e.to_status, "data": e.data,
                    "prev_hash": e.prev_hash, "hash": e.hash} for e in events],
    })
    signature = keys.signing.sign(payload.encode())
    return (_canonical({"algorithm": "Ed25519", "key_id": kid, "payload": payload,
                        "signature": base64.b64encode(signature).decode()}) + "\n").encode()


class FileRefused(Exception):
    """An exported trail that does not verify with the given key."""


@dataclass(frozen=True)
class FileVerdict:
    request_id: str
    events: int
    exported_at: str


def verify_file(raw: bytes, public_key: Ed25519PublicKey) -> FileVerdict:
    """Check an exported trail with the verification key alone (no secret, no database)."""
    try:
        envelope = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise FileRefused("not an exported audit trail (not JSON)") from None
    if not isinstance(envelope, dict) or set(envelope) != {"algorithm", "key_id", "payload",
                                                           "signature"}:
        raise FileRefused("not an exported audit trail")
    if (_canonical(envelope) + "\n").encode() != raw:
        raise FileRefused("the file is not byte for byte as exported: it was changed")
    if envelope["algorithm"] != "Ed25519":
        raise FileRefused(f"unknown algorithm {envelope['algorithm']!r}")
    if envelope["key_id"] != audit_keys.key_id(public_key):
        raise FileRefused("signed with another key than the one given")
    try:
        public_key.verify(base64.b64decode(envelope["signature"], validate=True),
                          str(envelope["payload"]).encode())
    except (InvalidSignature, binascii.Error, ValueError):
        raise FileRefused("the signature does not match: the trail was changed") from None
    payload = json.loads(envelope["payload"])
    if payload.get("format") != FORMAT or payload.get("key_id") != envelope["key_id"]:
        raise FileRefused("not an exported audit trail of this format")
    events, point, prev = payload["events"], payload["checkpoint"], audit.GENESIS
    for number, event in enumerate(events, start=1):
        if event["seq"] != number or event["prev_hash"] != prev:
            raise FileRefused(f"event {number} does not follow the one before it")
        prev = event["hash"]
    if point["events"] != len(events) or point["head"] != prev:
        raise FileRefused("the signed checkpoint does not match the events")
    return FileVerdict(payload["request_id"], len(events), payload["exported_at"])
