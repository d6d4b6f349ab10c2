from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.problem import Problem
from ...types import File, FileTypes
from ...types import UNSET, Unset
from io import BytesIO
from typing import cast
from uuid import UUID



def _get_kwargs(
    request_id: UUID,
    *,
    range_: None | str | Unset = UNSET,
    if_range: None | str | Unset = UNSET,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(range_, Unset):
        headers["Range"] = range_

    if not isinstance(if_range, Unset):
        headers["If-Range"] = if_range



    

    

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/requests/{request_id}/response".format(request_id=quote(str(request_id), safe=""),),
    }


    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> File | Problem | None:
    if response.status_code == 200:
        response_200 = File(
             payload = BytesIO(response.content)
        )



        return response_200

    if response.status_code == 206:
        response_206 = File(
             payload = BytesIO(response.content)
        )



        return response_206

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())



        return response_401

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())



        return response_404

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())



        return response_409

    if response.status_code == 410:
        response_410 = Problem.from_dict(response.json())



        return response_410

    if response.status_code == 416:
        response_416 = Problem.from_dict(response.json())



        return response_416

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[File | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    request_id: UUID,
    *,
    client: AuthenticatedClient,
    range_: None | str | Unset = UNSET,
    if_range: None | str | Unset = UNSET,

) -> Response[File | Problem]:
    """ Download the electronic-format response (zip)

    Args:
        request_id (UUID):
        range_ (None | str | Unset): one byte range, e.g. `bytes=1048576-`; several, or a
            malformed one, get the whole file
        if_range (None | str | Unset): the ETag the client has; Range is honoured only if it still
            matches

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[File | Problem]
     """


    kwargs = _get_kwargs(
        request_id=request_id,
range_=range_,
if_range=if_range,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    request_id: UUID,
    *,
    client: AuthenticatedClient,
    range_: None | str | Unset = UNSET,
    if_range: None | str | Unset = UNSET,

) -> File | Problem | None:
    """ Download the electronic-format response (zip)

    Args:
        request_id (UUID):
        range_ (None | str | Unset): one byte range, e.g. `bytes=1048576-`; several, or a
            malformed one, get the whole file
        if_range (None | str | Unset): the ETag the client has; Range is honoured only if it still
            matches

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        File | Problem
     """


    return sync_detailed(
        request_id=request_id,
client=client,
range_=range_,
if_range=if_range,

    ).parsed

async def asyncio_detailed(
    request_id: UUID,
    *,
    client: AuthenticatedClient,
    range_: None | str | Unset = UNSET,
    if_range: None | str | Unset = UNSET,

) -> Response[File | Problem]:
    """ Download the electronic-format response (zip)

    Args:
        request_id (UUID):
        range_ (None | str | Unset): one byte range, e.g. `bytes=1048576-`; several, or a
            malformed one, get the whole file
        if_range (None | str | Unset): the ETag the client has; Range is honoured only if it still
            matches

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[File | Problem]
     """


    kwargs = _get_kwargs(
        request_id=request_id,
range_=range_,
if_range=if_range,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    request_id: UUID,
    *,
    client: AuthenticatedClient,
    range_: None | str | Unset = UNSET,
    if_range: None | str | Unset = UNSET,

) -> File | Problem | None:
    """ Download the electronic-format response (zip)

    Args:
        request_id (UUID):
        range_ (None | str | Unset): one byte range, e.g. `bytes=1048576-`; several, or a
            malformed one, get the whole file
        if_range (None | str | Unset): the ETag the client has; Range is honoured only if it still
            matches

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        File | Problem
     """


    return (await asyncio_detailed(
        request_id=request_id,
client=client,
range_=range_,
if_range=if_range,

    )).parsed
