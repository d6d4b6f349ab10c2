"""The letters that go with a notification while a request is open (``app.rights.notices``),
rendered from the recorded facts when asked for: the same facts give the same letter, so
nothing is stored twice. The portal fetches the letter its notification points to
(``GET /v1/requests/{id}/notices/{kind}``); an agent can print it for a customer without the
portal."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.answers import policy, report
from app.errors import NotFound
from app.models import AuditEvent, DsrRequest
from app.rights import notices
from app.rights.facts import EventFact, Facts, PackageInputs, RequestFacts

KINDS = ("extension",)


async def render(session: AsyncSession, request: DsrRequest, kind: str) -> str:
    """The notice ``kind`` of ``request`` as a self-contained HTML page, or NotFound."""
    if kind not in KINDS:
        raise NotFound("No such notice.")
    rows = await session.execute(
        select(AuditEvent.seq, AuditEvent.action, AuditEvent.at)
        .where(col(AuditEvent.request_id) == request.id, col(AuditEvent.action) == "extended"))
    facts = RequestFacts(
        id=str(request.id), type=request.type.value, status=request.status.value,
        customer_number=request.customer_number, language=request.language.value,
        received_at=request.received_at, finished_at=request.finished_at,
        details={}, channel=request.channel.value,
        verified=request.verified_at is not None,
        extension={"months": request.extended_months, "reason": request.extension_reason,
                   "due_at": request.due_at.isoformat()} if request.extended_months else None,
        events=tuple(EventFact(row.seq, row.action, row.at) for row in rows))
    letter = notices.extension(Facts(PackageInputs(facts, [])))
    if letter is None:
        raise NotFound("This request was not extended, so it has no extension notice.")
    t = report.texts(facts.language)
    template = report.environment().get_template("notice.html.j2")
    return template.render(t=t, kind=letter.kind, req=facts.public() | {"type": facts.type},
                           letter=letter.rendered(t), reason=request.extension_reason,
                           policy=policy.for_language(facts.language))
