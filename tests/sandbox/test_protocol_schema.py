"""The sandbox partners speak the protocol the OpenAPI document publishes: their answers and
signed callbacks validate against ``PartnerAck`` and ``PartnerCallback``."""

from __future__ import annotations

import httpx
import pytest

from app.protocol import PartnerAck, PartnerCallback
from app.sandbox.state import SandboxState
from tests.sandbox.conftest import Receiver, dsr_request

CASES = [("stadsnat", "SN-440017"), ("snpac", "+46470123456"), ("eniro", "HIT-7K2P9Q"),
         ("eniro", "HIT-UNKNOWN")]


@pytest.mark.parametrize(("system", "link"), CASES)
@pytest.mark.parametrize("kind", ["access", "erasure", "restriction"])
async def test_answers_and_callbacks_validate(
    client: httpx.AsyncClient, state: SandboxState, receiver: Receiver, system: str,
    link: str, kind: str,
) -> None:
    ref = f"task-{system}-{kind}-{link}"
    accepted = await client.post(f"/{system}/requests", json=dsr_request(ref, kind, link, system))
    assert accepted.status_code == 202
    PartnerAck.model_validate(accepted.json())
    await state.drain()
    callbacks = [p for p in receiver.payloads(system) if p["subject_request_id"] == ref]
    assert callbacks
    for payload in callbacks:
        PartnerCallback.model_validate(payload)
    polled = await client.get(f"/{system}/requests/{ref}")
    PartnerCallback.model_validate(polled.json())
