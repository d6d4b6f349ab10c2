"""Pseudonymous links (``/v1/links``): each system's own key for a customer. Staff only."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.auth import CUSTOMER_NUMBER_PATTERN
from app.db import utcnow
from app.deps import ReadSessionDep, SessionDep, StaffDep
from app.models import Link
from app.partners import PARTNERS, System, callback_systems
from app.schemas import Strict, examples, problem_responses

router = APIRouter(prefix="/v1/links", tags=["links"])

LinkedSystem = StrEnum(  # type: ignore[misc]
    "LinkedSystem", {name: name for name, entry in PARTNERS.items() if entry.needs_link})
Customer = Annotated[str, Path(pattern=CUSTOMER_NUMBER_PATTERN, examples=["C-1001"])]
# Goes into partner URLs (a partner's .../customers/{id}): ASCII, and never "." or ".." or any
# other path segment, so it starts with a letter, digit or "+" and has no "/".
EXTERNAL_ID_PATTERN = r"^[A-Za-z0-9+][A-Za-z0-9+._:-]{0,63}$"


class LinkBody(Strict):
    model_config = examples({"external_id": "SN-440017"})

    external_id: str = Field(
        min_length=1, max_length=64, pattern=EXTERNAL_ID_PATTERN,
        description="the system's key for the customer: " + ", ".join(
            f"{entry.key} ({name})" for name, entry in PARTNERS.items() if entry.needs_link),
    )


class LinkOut(BaseModel):
    model_config = examples({"customer_number": "C-1001", "system": callback_systems()[0],
                             "external_id": "SN-440017", "updated_at": "2026-11-29T10:00:00Z"})

    customer_number: str
    system: System
    external_id: str
    updated_at: datetime


@router.get("/{customer_number}", response_model=list[LinkOut],
            responses=problem_responses(401, 403, 422), summary="A customer's links",
            operation_id="listLinks")
async def list_links(
    session: ReadSessionDep, _staff: StaffDep, customer_number: Customer
) -> list[LinkOut]:
    rows = await session.scalars(
        select(Link).where(col(Link.customer_number) == customer_number).order_by(
            col(Link.system))
    )
    return [LinkOut.model_validate(row, from_attributes=True) for row in rows]


@router.put("/{customer_number}/{system}", response_model=LinkOut,
            responses=problem_responses(400, 401, 403, 413, 422),
            summary="Register or change a customer's key in one system", operation_id="putLink")
async def put_link(
    session: SessionDep, _staff: StaffDep, customer_number: Customer,
    system: Annotated[LinkedSystem, Path()], body: LinkBody,
) -> LinkOut:
    link = await upsert_link(session, customer_number=customer_number, system=system.value,
                             external_id=body.external_id)
    return LinkOut.model_validate(link, from_attributes=True)


async def upsert_link(
    session: AsyncSession, *, customer_number: str, system: str, external_id: str
) -> Link:
    link = (await session.scalars(select(Link).where(
        col(Link.customer_number) == customer_number, col(Link.system) == system))).first()
    if link is None:
        link = Link(customer_number=customer_number, system=system, external_id=external_id)
        session.add(link)
    else:
        link.external_id, link.updated_at = external_id, utcnow()
    await session.flush()
    return link
