"""What every HTTP connector does with the network going wrong, and with personal data."""

from __future__ import annotations

import httpx
import pytest
import respx

from app.connectors.base import Connector
from app.errors import PermanentError, TransientError
from app.models import RequestType
from app.settings import Settings
from tests.connectors.conftest import MakeCall, url

# The one call each system's test action makes (after a Fortnox token).
TARGETS = {
    "crm": ("erase", "POST", "/customers/C-1001/erase"),
    "fortnox": ("restrict", "PUT", "/3/customers/1001"),
    "stadsnat": ("erase", "POST", "/requests"),
    "snpac": ("erase", "POST", "/requests"),
    "eniro": ("unlist", "POST", "/requests"),
}
SYSTEMS = sorted(TARGETS)


def mock_target(
    system: str, settings: Settings, respx_mock: respx.MockRouter
) -> respx.Route:
    if system == "fortnox":
        respx_mock.post(url(settings, "fortnox", "/oauth-v1/token")).respond(
            200, json={"access_token": "tok", "expires_in": 3600}
        )
    _, method, path = TARGETS[system]
    return respx_mock.route(method=method, url=url(settings, system, path))


@pytest.mark.parametrize("system", SYSTEMS)
async def test_429_is_transient_with_retry_after(
    connectors: dict[str, Connector], make_call: MakeCall, settings: Settings,
    respx_mock: respx.MockRouter, system: str,
) -> None:
    mock_target(system, settings, respx_mock).respond(429, headers={"Retry-After": "7"})
    with pytest.raises(TransientError) as caught:
        await connectors[system].execute(make_call(system, TARGETS[system][0]))
    assert caught.value.retry_after == 7.0


@pytest.mark.parametrize("system", SYSTEMS)
async def test_timeout_is_transient(
    connectors: dict[str, Connector], make_call: MakeCall, settings: Settings,
    respx_mock: respx.MockRouter, system: str,
) -> None:
    mock_target(system, settings, respx_mock).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(TransientError, match="in time"):
        await connectors[system].execute(make_call(system, TARGETS[system][0]))


@pytest.mark.parametrize("system", SYSTEMS)
@pytest.mark.parametrize("status", [500, 502, 503])
async def test_5xx_is_transient(
    connectors: dict[str, Connector], make_call: MakeCall, settings: Settings,
    respx_mock: respx.MockRouter, system: str, status: int,
) -> None:
    mock_target(system, settings, respx_mock).respond(status, text="Internal error for Astrid")
    with pytest.raises(TransientError) as caught:
        await connectors[system].execute(make_call(system, TARGETS[system][0]))
    assert "Astrid" not in caught.value.reason


@pytest.mark.parametrize("system", SYSTEMS)
async def test_malformed_json_is_permanent(
    connectors: dict[str, Connector], make_call: MakeCall, settings: Settings,
    respx_mock: respx.MockRouter, system: str,
) -> None:
    status = 202 if TARGETS[system][2] == "/requests" else 200
    mock_target(system, settings, respx_mock).respond(status, text="{not json")
    with pytest.raises(PermanentError, match="malformed JSON"):
        await connectors[system].execute(make_call(system, TARGETS[system][0]))


@pytest.mark.parametrize("system", SYSTEMS)
@pytest.mark.parametrize("status", [403, 409, 422])
async def test_unexpected_4xx_is_permanent(
    connectors: dict[str, Connector], make_call: MakeCall, settings: Settings,
    respx_mock: respx.MockRouter, system: str, status: int,
) -> None:
    mock_target(system, settings, respx_mock).respond(
        status, json={"message": "Astrid Exempelsson, 19850412-9803"}
    )
    with pytest.raises(PermanentError) as caught:
        await connectors[system].execute(make_call(system, TARGETS[system][0]))
    assert str(status) in caught.value.reason
    assert "Astrid" not in caught.value.reason and "19850412" not in caught.value.reason


@pytest.mark.parametrize("system", SYSTEMS)
async def test_a_personnummer_link_is_never_sent(
    connectors: dict[str, Connector], make_call: MakeCall, settings: Settings,
    respx_mock: respx.MockRouter, system: str,
) -> None:
    if system == "fortnox":  # the token request carries nothing about the customer
        respx_mock.post(url(settings, "fortnox", "/oauth-v1/token")).respond(
            200, json={"access_token": "tok", "expires_in": 3600}
        )
    call = make_call(system, TARGETS[system][0], link="19811218-9876")
    with pytest.raises(PermanentError, match="personnummer"):
        await connectors[system].execute(call)
    sent = [c.request for c in respx_mock.calls]
    assert all("9876" not in str(r.url) and b"9876" not in r.content for r in sent)
    assert all(r.url.path.endswith("/oauth-v1/token") for r in sent)


@pytest.mark.parametrize("system", ["crm", "stadsnat", "eniro"])
async def test_personal_data_outside_the_changes_is_never_sent(
    connectors: dict[str, Connector], make_call: MakeCall, respx_mock: respx.MockRouter,
    system: str,
) -> None:
    call = make_call(
        system, "restrict", request_type=RequestType.restriction,
        options={"grounds": "kund astrid@example.se bestrider"},
    )
    with pytest.raises(PermanentError, match="e-mail"):
        await connectors[system].execute(call)
    assert not respx_mock.calls


async def test_rectification_values_are_allowed_out(
    connectors: dict[str, Connector], make_call: MakeCall, settings: Settings,
    respx_mock: respx.MockRouter,
) -> None:
    route = respx_mock.patch(url(settings, "crm", "/customers/C-1001")).respond(
        200, json={"updated": ["email"]}
    )
    call = make_call("crm", "rectify", changes={"email": "astrid.ny@example.se"})
    await connectors["crm"].execute(call)
    assert route.called


async def test_sliding_window_never_exceeds_the_rate_in_any_window() -> None:
    import asyncio

    from app.connectors.base import SlidingWindowLimiter

    limiter = SlidingWindowLimiter(3, 0.2, margin_s=0.0)
    loop = asyncio.get_running_loop()
    times: list[float] = []

    async def call() -> None:
        await limiter.acquire()
        times.append(loop.time())

    await asyncio.gather(*(call() for _ in range(9)))
    times.sort()
    assert len(times) == 9
    # any 4 consecutive calls span at least one full window: never 4 within 0.2 s
    assert all(times[i + 3] - times[i] >= 0.2 - 1e-3 for i in range(len(times) - 3))


def test_a_uuid_that_looks_like_a_personnummer_is_not_refused() -> None:
    from app.connectors.base import egress_violation

    ref = "19850412-9803-4a1b-8c2d-123456789012"  # a task id whose digits look like one
    assert egress_violation({"subject_request_id": ref, "path": f"/requests/{ref}.1"}) is None
    assert egress_violation({"note": f"{ref} 19850412-9803"}) == "a personnummer-shaped value"
