from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.problem import Problem
from ...models.request_page import RequestPage
from ...models.request_status import RequestStatus
from ...models.request_type import RequestType
from ...types import UNSET, Unset
from typing import cast



def _get_kwargs(
    *,
    status: None | RequestStatus | Unset = UNSET,
    type_: None | RequestType | Unset = UNSET,
    customer_number: None | str | Unset = UNSET,
    overdue: bool | None | Unset = UNSET,
    limit: int | Unset = 50,
    cursor: None | str | Unset = UNSET,

) -> dict[str, Any]:
    

    

    params: dict[str, Any] = {}

    json_status: None | str | Unset
    if isinstance(status, Unset):
        json_status = UNSET
    elif isinstance(status, RequestStatus):
        json_status = status.value
    else:
        json_status = status
    params["status"] = json_status

    json_type_: None | str | Unset
    if isinstance(type_, Unset):
        json_type_ = UNSET
    elif isinstance(type_, RequestType):
        json_type_ = type_.value
    else:
        json_type_ = type_
    params["type"] = json_type_

    json_customer_number: None | str | Unset
    if isinstance(customer_number, Unset):
        json_customer_number = UNSET
    else:
        json_customer_number = customer_number
    params["customer_number"] = json_customer_number

    json_overdue: bool | None | Unset
    if isinstance(overdue, Unset):
        json_overdue = UNSET
    else:
        json_overdue = overdue
    params["overdue"] = json_overdue

    params["limit"] = limit

    json_cursor: None | str | Unset
    if isinstance(cursor, Unset):
        json_cursor = UNSET
    else:
        json_cursor = cursor
    params["cursor"] = json_cursor


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/requests",
        "params": params,
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | RequestPage | None:
    if response.status_code == 200:
        response_200 = RequestPage.from_dict(response.json())



        return response_200

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())



        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())



        return response_401

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | RequestPage]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    status: None | RequestStatus | Unset = UNSET,
    type_: None | RequestType | Unset = UNSET,
    customer_number: None | str | Unset = UNSET,
    overdue: bool | None | Unset = UNSET,
    limit: int | Unset = 50,
    cursor: None | str | Unset = UNSET,

) -> Response[Problem | RequestPage]:
    """ List requests (a portal token sees its own customer's only)

     Newest first. Pass `next_cursor` back as `cursor` for the next page; a cursor this service did not
    issue is a 400 `invalid-cursor`.

    Args:
        status (None | RequestStatus | Unset):
        type_ (None | RequestType | Unset):
        customer_number (None | str | Unset):
        overdue (bool | None | Unset):
        limit (int | Unset):  Default: 50.
        cursor (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | RequestPage]
     """


    kwargs = _get_kwargs(
        status=status,
type_=type_,
customer_number=customer_number,
overdue=overdue,
limit=limit,
cursor=cursor,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient,
    status: None | RequestStatus | Unset = UNSET,
    type_: None | RequestType | Unset = UNSET,
    customer_number: None | str | Unset = UNSET,
    overdue: bool | None | Unset = UNSET,
    limit: int | Unset = 50,
    cursor: None | str | Unset = UNSET,

) -> Problem | RequestPage | None:
    """ List requests (a portal token sees its own customer's only)

     Newest first. Pass `next_cursor` back as `cursor` for the next page; a cursor this service did not
    issue is a 400 `invalid-cursor`.

    Args:
        status (None | RequestStatus | Unset):
        type_ (None | RequestType | Unset):
        customer_number (None | str | Unset):
        overdue (bool | None | Unset):
        limit (int | Unset):  Default: 50.
        cursor (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | RequestPage
     """


    return sync_detailed(
        client=client,
status=status,
type_=type_,
customer_number=customer_number,
overdue=overdue,
limit=limit,
cursor=cursor,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    status: None | RequestStatus | Unset = UNSET,
    type_: None | RequestType | Unset = UNSET,
    customer_number: None | str | Unset = UNSET,
    overdue: bool | None | Unset = UNSET,
    limit: int | Unset = 50,
    cursor: None | str | Unset = UNSET,

) -> Response[Problem | RequestPage]:
    """ List requests (a portal token sees its own customer's only)

     Newest first. Pass `next_cursor` back as `cursor` for the next page; a cursor this service did not
    issue is a 400 `invalid-cursor`.

    Args:
        status (None | RequestStatus | Unset):
        type_ (None | RequestType | Unset):
        customer_number (None | str | Unset):
        overdue (bool | None | Unset):
        limit (int | Unset):  Default: 50.
        cursor (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | RequestPage]
     """


    kwargs = _get_kwargs(
        status=status,
type_=type_,
customer_number=customer_number,
overdue=overdue,
limit=limit,
cursor=cursor,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient,
    status: None | RequestStatus | Unset = UNSET,
    type_: None | RequestType | Unset = UNSET,
    customer_number: None | str | Unset = UNSET,
    overdue: bool | None | Unset = UNSET,
    limit: int | Unset = 50,
    cursor: None | str | Unset = UNSET,

) -> Problem | RequestPage | None:
    """ List requests (a portal token sees its own customer's only)

     Newest first. Pass `next_cursor` back as `cursor` for the next page; a cursor this service did not
    issue is a 400 `invalid-cursor`.

    Args:
        status (None | RequestStatus | Unset):
        type_ (None | RequestType | Unset):
        customer_number (None | str | Unset):
        overdue (bool | None | Unset):
        limit (int | Unset):  Default: 50.
        cursor (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | RequestPage
     """


    return (await asyncio_detailed(
        client=client,
status=status,
type_=type_,
customer_number=customer_number,
overdue=overdue,
limit=limit,
cursor=cursor,

    )).parsed
