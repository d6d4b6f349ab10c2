"""FastAPI dependencies: the session that owns the transaction, the caller, and load-or-404.

Every dependency is ``async def``, even one that awaits nothing: FastAPI runs a plain ``def``
dependency on a thread-pool thread, a hand-off and back on every API call.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import Principal, TokenVerifier
from app.db import reading
from app.errors import Forbidden, Unauthorized
from app.models import DsrRequest
from app.services import request_queries
from app.settings import Settings

_bearer = HTTPBearer(auto_error=False, description="JWT issued for the portal, an agent or admin")


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per API call: committed before the response is sent, else rolled back."""
    async with request.app.state.sessionmaker() as session, session.begin():
        yield session


async def get_read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A read-only transaction for an API call that changes nothing (``db.reading``)."""
    async with reading(request.app.state.sessionmaker) as session:
        yield session


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("A bearer token is required.")
    verifier: TokenVerifier = request.app.state.verifier
    principal = verifier.verify(credentials.credentials)
    request.state.principal_role = principal.role.value
    return principal


async def require_staff(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    if not principal.is_staff:
        raise Forbidden("This action is for support agents.")
    return principal


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
ReadSessionDep = Annotated[AsyncSession, Depends(get_read_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
StaffDep = Annotated[Principal, Depends(require_staff)]


async def load_request(
    request_id: uuid.UUID, session: ReadSessionDep, principal: PrincipalDep
) -> DsrRequest:
    """The request, for an API call that only reads it."""
    return await request_queries.get_request(
        session, request_id=request_id, principal=principal
    )


async def lock_request(
    request_id: uuid.UUID, session: SessionDep, principal: StaffDep
) -> DsrRequest:
    """The request, row-locked for the rest of the transaction (staff actions change it)."""
    return await request_queries.get_request(
        session, request_id=request_id, principal=principal, for_update=True
    )


RequestDep = Annotated[DsrRequest, Depends(load_request)]
LockedRequestDep = Annotated[DsrRequest, Depends(lock_request)]
