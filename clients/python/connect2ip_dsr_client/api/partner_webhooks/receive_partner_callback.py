from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.partner_callback import PartnerCallback
from ...models.problem import Problem
from ...models.receive_partner_callback_system import ReceivePartnerCallbackSystem
from ...models.webhook_ack import WebhookAck
from typing import cast



def _get_kwargs(
    system: ReceivePartnerCallbackSystem,
    *,
    body: PartnerCallback,
    webhook_id: str,
    webhook_timestamp: str,
    webhook_signature: str,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    headers["webhook-id"] = webhook_id

    headers["webhook-timestamp"] = webhook_timestamp

    headers["webhook-signature"] = webhook_signature



    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/webhooks/{system}".format(system=quote(str(system), safe=""),),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | WebhookAck | None:
    if response.status_code == 200:
        response_200 = WebhookAck.from_dict(response.json())



        return response_200

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())



        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())



        return response_401

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())



        return response_404

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | WebhookAck]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    system: ReceivePartnerCallbackSystem,
    *,
    client: AuthenticatedClient | Client,
    body: PartnerCallback,
    webhook_id: str,
    webhook_timestamp: str,
    webhook_signature: str,

) -> Response[Problem | WebhookAck]:
    """ A partner reports how a task went (Standard Webhooks signature)

     The callback of the `partnerRequest` the service sent. Signed with this system's `whsec_` secret
    (`DSR_<SYSTEM>_WEBHOOK_SECRET`, handed to the partner out of band): `webhook-signature: v1,<base64
    HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}">`. Any 2xx is final; 5xx or no answer: send
    again with the same `webhook-id` (re-signed); a 4xx is final too, resending it unchanged will not
    help.

    Args:
        system (ReceivePartnerCallbackSystem):
        webhook_id (str):
        webhook_timestamp (str):
        webhook_signature (str):
        body (PartnerCallback): What an asynchronous partner posts to ``/v1/webhooks/{system}``
            (and answers to
            ``GET /requests/{id}``). ``pending``/``in_progress`` are progress reports and change
            nothing; ``completed`` must carry ``result`` and name the subject as it was sent.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | WebhookAck]
     """


    kwargs = _get_kwargs(
        system=system,
body=body,
webhook_id=webhook_id,
webhook_timestamp=webhook_timestamp,
webhook_signature=webhook_signature,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    system: ReceivePartnerCallbackSystem,
    *,
    client: AuthenticatedClient | Client,
    body: PartnerCallback,
    webhook_id: str,
    webhook_timestamp: str,
    webhook_signature: str,

) -> Problem | WebhookAck | None:
    """ A partner reports how a task went (Standard Webhooks signature)

     The callback of the `partnerRequest` the service sent. Signed with this system's `whsec_` secret
    (`DSR_<SYSTEM>_WEBHOOK_SECRET`, handed to the partner out of band): `webhook-signature: v1,<base64
    HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}">`. Any 2xx is final; 5xx or no answer: send
    again with the same `webhook-id` (re-signed); a 4xx is final too, resending it unchanged will not
    help.

    Args:
        system (ReceivePartnerCallbackSystem):
        webhook_id (str):
        webhook_timestamp (str):
        webhook_signature (str):
        body (PartnerCallback): What an asynchronous partner posts to ``/v1/webhooks/{system}``
            (and answers to
            ``GET /requests/{id}``). ``pending``/``in_progress`` are progress reports and change
            nothing; ``completed`` must carry ``result`` and name the subject as it was sent.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | WebhookAck
     """


    return sync_detailed(
        system=system,
client=client,
body=body,
webhook_id=webhook_id,
webhook_timestamp=webhook_timestamp,
webhook_signature=webhook_signature,

    ).parsed

async def asyncio_detailed(
    system: ReceivePartnerCallbackSystem,
    *,
    client: AuthenticatedClient | Client,
    body: PartnerCallback,
    webhook_id: str,
    webhook_timestamp: str,
    webhook_signature: str,

) -> Response[Problem | WebhookAck]:
    """ A partner reports how a task went (Standard Webhooks signature)

     The callback of the `partnerRequest` the service sent. Signed with this system's `whsec_` secret
    (`DSR_<SYSTEM>_WEBHOOK_SECRET`, handed to the partner out of band): `webhook-signature: v1,<base64
    HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}">`. Any 2xx is final; 5xx or no answer: send
    again with the same `webhook-id` (re-signed); a 4xx is final too, resending it unchanged will not
    help.

    Args:
        system (ReceivePartnerCallbackSystem):
        webhook_id (str):
        webhook_timestamp (str):
        webhook_signature (str):
        body (PartnerCallback): What an asynchronous partner posts to ``/v1/webhooks/{system}``
            (and answers to
            ``GET /requests/{id}``). ``pending``/``in_progress`` are progress reports and change
            nothing; ``completed`` must carry ``result`` and name the subject as it was sent.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | WebhookAck]
     """


    kwargs = _get_kwargs(
        system=system,
body=body,
webhook_id=webhook_id,
webhook_timestamp=webhook_timestamp,
webhook_signature=webhook_signature,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    system: ReceivePartnerCallbackSystem,
    *,
    client: AuthenticatedClient | Client,
    body: PartnerCallback,
    webhook_id: str,
    webhook_timestamp: str,
    webhook_signature: str,

) -> Problem | WebhookAck | None:
    """ A partner reports how a task went (Standard Webhooks signature)

     The callback of the `partnerRequest` the service sent. Signed with this system's `whsec_` secret
    (`DSR_<SYSTEM>_WEBHOOK_SECRET`, handed to the partner out of band): `webhook-signature: v1,<base64
    HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}">`. Any 2xx is final; 5xx or no answer: send
    again with the same `webhook-id` (re-signed); a 4xx is final too, resending it unchanged will not
    help.

    Args:
        system (ReceivePartnerCallbackSystem):
        webhook_id (str):
        webhook_timestamp (str):
        webhook_signature (str):
        body (PartnerCallback): What an asynchronous partner posts to ``/v1/webhooks/{system}``
            (and answers to
            ``GET /requests/{id}``). ``pending``/``in_progress`` are progress reports and change
            nothing; ``completed`` must carry ``result`` and name the subject as it was sent.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | WebhookAck
     """


    return (await asyncio_detailed(
        system=system,
client=client,
body=body,
webhook_id=webhook_id,
webhook_timestamp=webhook_timestamp,
webhook_signature=webhook_signature,

    )).parsed
