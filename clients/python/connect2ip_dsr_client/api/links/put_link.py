from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.link_body import LinkBody
from ...models.link_out import LinkOut
from ...models.linked_system import LinkedSystem
from ...models.problem import Problem
from typing import cast



def _get_kwargs(
    customer_number: str,
    system: LinkedSystem,
    *,
    body: LinkBody,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}


    

    

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/v1/links/{customer_number}/{system}".format(customer_number=quote(str(customer_number), safe=""),system=quote(str(system), safe=""),),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> LinkOut | Problem | None:
    if response.status_code == 200:
        response_200 = LinkOut.from_dict(response.json())



        return response_200

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())



        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())



        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())



        return response_403

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[LinkOut | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    customer_number: str,
    system: LinkedSystem,
    *,
    client: AuthenticatedClient,
    body: LinkBody,

) -> Response[LinkOut | Problem]:
    """ Register or change a customer's key in one system

    Args:
        customer_number (str):
        system (LinkedSystem):
        body (LinkBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[LinkOut | Problem]
     """


    kwargs = _get_kwargs(
        customer_number=customer_number,
system=system,
body=body,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    customer_number: str,
    system: LinkedSystem,
    *,
    client: AuthenticatedClient,
    body: LinkBody,

) -> LinkOut | Problem | None:
    """ Register or change a customer's key in one system

    Args:
        customer_number (str):
        system (LinkedSystem):
        body (LinkBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        LinkOut | Problem
     """


    return sync_detailed(
        customer_number=customer_number,
system=system,
client=client,
body=body,

    ).parsed

async def asyncio_detailed(
    customer_number: str,
    system: LinkedSystem,
    *,
    client: AuthenticatedClient,
    body: LinkBody,

) -> Response[LinkOut | Problem]:
    """ Register or change a customer's key in one system

    Args:
        customer_number (str):
        system (LinkedSystem):
        body (LinkBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[LinkOut | Problem]
     """


    kwargs = _get_kwargs(
        customer_number=customer_number,
system=system,
body=body,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    customer_number: str,
    system: LinkedSystem,
    *,
    client: AuthenticatedClient,
    body: LinkBody,

) -> LinkOut | Problem | None:
    """ Register or change a customer's key in one system

    Args:
        customer_number (str):
        system (LinkedSystem):
        body (LinkBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        LinkOut | Problem
     """


    return (await asyncio_detailed(
        customer_number=customer_number,
system=system,
client=client,
body=body,

    )).parsed
