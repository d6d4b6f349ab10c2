from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.access_create import AccessCreate
from ...models.erasure_create import ErasureCreate
from ...models.objection_create import ObjectionCreate
from ...models.portability_create import PortabilityCreate
from ...models.problem import Problem
from ...models.rectification_create import RectificationCreate
from ...models.request_out import RequestOut
from ...models.restriction_create import RestrictionCreate
from ...types import UNSET, Unset
from typing import cast



def _get_kwargs(
    *,
    body: AccessCreate | ErasureCreate | ObjectionCreate | PortabilityCreate | RectificationCreate | RestrictionCreate,
    idempotency_key: None | str | Unset = UNSET,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key



    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/requests",
    }

    
    if isinstance(body, AccessCreate):
        _kwargs["json"] = body.to_dict()
    elif isinstance(body, ErasureCreate):
        _kwargs["json"] = body.to_dict()
    elif isinstance(body, RectificationCreate):
        _kwargs["json"] = body.to_dict()
    elif isinstance(body, RestrictionCreate):
        _kwargs["json"] = body.to_dict()
    elif isinstance(body, ObjectionCreate):
        _kwargs["json"] = body.to_dict()
    else:
        _kwargs["json"] = body.to_dict()


    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | RequestOut | None:
    if response.status_code == 202:
        response_202 = RequestOut.from_dict(response.json())



        return response_202

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())



        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())



        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())



        return response_403

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())



        return response_409

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())



        return response_413

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())



        return response_422

    if response.status_code == 431:
        response_431 = Problem.from_dict(response.json())



        return response_431

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())



        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | RequestOut]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: AccessCreate | ErasureCreate | ObjectionCreate | PortabilityCreate | RectificationCreate | RestrictionCreate,
    idempotency_key: None | str | Unset = UNSET,

) -> Response[Problem | RequestOut]:
    """ Submit a data subject request

     The portal submits for its own customer (identity verified by its BankID login); an agent names the
    customer and the channel, and the identity check if one was made. Answers 202: the request is
    carried out in the background; poll `getRequest`.

    Args:
        idempotency_key (None | str | Unset): any printable ASCII up to 255 characters; the same
            key and body return the same request, the same key with another body is a 409
        body (AccessCreate | ErasureCreate | ObjectionCreate | PortabilityCreate |
            RectificationCreate | RestrictionCreate):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | RequestOut]
     """


    kwargs = _get_kwargs(
        body=body,
idempotency_key=idempotency_key,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient,
    body: AccessCreate | ErasureCreate | ObjectionCreate | PortabilityCreate | RectificationCreate | RestrictionCreate,
    idempotency_key: None | str | Unset = UNSET,

) -> Problem | RequestOut | None:
    """ Submit a data subject request

     The portal submits for its own customer (identity verified by its BankID login); an agent names the
    customer and the channel, and the identity check if one was made. Answers 202: the request is
    carried out in the background; poll `getRequest`.

    Args:
        idempotency_key (None | str | Unset): any printable ASCII up to 255 characters; the same
            key and body return the same request, the same key with another body is a 409
        body (AccessCreate | ErasureCreate | ObjectionCreate | PortabilityCreate |
            RectificationCreate | RestrictionCreate):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | RequestOut
     """


    return sync_detailed(
        client=client,
body=body,
idempotency_key=idempotency_key,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: AccessCreate | ErasureCreate | ObjectionCreate | PortabilityCreate | RectificationCreate | RestrictionCreate,
    idempotency_key: None | str | Unset = UNSET,

) -> Response[Problem | RequestOut]:
    """ Submit a data subject request

     The portal submits for its own customer (identity verified by its BankID login); an agent names the
    customer and the channel, and the identity check if one was made. Answers 202: the request is
    carried out in the background; poll `getRequest`.

    Args:
        idempotency_key (None | str | Unset): any printable ASCII up to 255 characters; the same
            key and body return the same request, the same key with another body is a 409
        body (AccessCreate | ErasureCreate | ObjectionCreate | PortabilityCreate |
            RectificationCreate | RestrictionCreate):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | RequestOut]
     """


    kwargs = _get_kwargs(
        body=body,
idempotency_key=idempotency_key,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient,
    body: AccessCreate | ErasureCreate | ObjectionCreate | PortabilityCreate | RectificationCreate | RestrictionCreate,
    idempotency_key: None | str | Unset = UNSET,

) -> Problem | RequestOut | None:
    """ Submit a data subject request

     The portal submits for its own customer (identity verified by its BankID login); an agent names the
    customer and the channel, and the identity check if one was made. Answers 202: the request is
    carried out in the background; poll `getRequest`.

    Args:
        idempotency_key (None | str | Unset): any printable ASCII up to 255 characters; the same
            key and body return the same request, the same key with another body is a 409
        body (AccessCreate | ErasureCreate | ObjectionCreate | PortabilityCreate |
            RectificationCreate | RestrictionCreate):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | RequestOut
     """


    return (await asyncio_detailed(
        client=client,
body=body,
idempotency_key=idempotency_key,

    )).parsed
