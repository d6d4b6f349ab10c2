"""Token verification: only the configured algorithm and key; every forgery is a 401."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jose import jwt

from app.auth import Role, TokenVerifier, mint_token
from app.errors import Unauthorized
from app.settings import Settings
from tests.conftest import TEST_SECRET, make_settings
from tests.helpers import assert_problem


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(**over: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {"sub": "alice", "role": "agent", "aud": "dsr",
                                 "iss": "connect2ip-dsr", "iat": now, "exp": now + 300}
    claims.update(over)
    return claims


def _hs256_with_key(key: bytes, claims: dict[str, object]) -> str:
    """Hand-sign an HS256 token (jose itself refuses PEM keys as HMAC secrets)."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(claims).encode())
    signature = hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pems(private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> tuple[str, str]:
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return private_pem, public_pem


def hs_settings(**over: object) -> Settings:
    return make_settings("sqlite+aiosqlite:///:memory:", **over)


def test_hs256_round_trip() -> None:
    settings = hs_settings()
    token = mint_token(settings, role=Role.portal, sub="p1", customer_number="C-1001")
    principal = TokenVerifier(settings).verify(token)
    assert (principal.role, principal.customer_number, principal.sub) == (
        Role.portal, "C-1001", "p1"
    )


@pytest.mark.parametrize(
    ("label", "make"),
    [
        ("alg none", lambda: _b64(b'{"alg":"none","typ":"JWT"}') + "."
         + _b64(json.dumps(_claims()).encode()) + "."),
        ("wrong secret", lambda: jwt.encode(_claims(), "another-secret-" + "y" * 40, "HS256")),
        ("expired", lambda: jwt.encode(_claims(exp=int(time.time()) - 10), TEST_SECRET, "HS256")),
        ("wrong audience", lambda: jwt.encode(_claims(aud="billing"), TEST_SECRET, "HS256")),
        ("wrong issuer", lambda: jwt.encode(_claims(iss="someone"), TEST_SECRET, "HS256")),
        ("no exp", lambda: jwt.encode(
            {k: v for k, v in _claims().items() if k != "exp"}, TEST_SECRET, "HS256")),
        ("unknown role", lambda: jwt.encode(_claims(role="root"), TEST_SECRET, "HS256")),
        ("portal without customer", lambda: jwt.encode(_claims(role="portal"), TEST_SECRET,
                                                       "HS256")),
        ("HS512 with the right secret", lambda: jwt.encode(_claims(), TEST_SECRET, "HS512")),
        ("garbage", lambda: "not.a.token"),
    ],
)
def test_forged_and_invalid_tokens_are_refused(label: str, make) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Unauthorized):
        TokenVerifier(hs_settings()).verify(make())


def test_tampered_payload_is_refused() -> None:
    settings = hs_settings()
    token = mint_token(settings, role=Role.portal, sub="p", customer_number="C-1001")
    header, _payload, signature = token.split(".")
    forged = _b64(json.dumps(_claims(role="portal", customer_number="C-1002")).encode())
    with pytest.raises(Unauthorized):
        TokenVerifier(settings).verify(f"{header}.{forged}.{signature}")


def test_rs256_accepts_standard_tokens_and_refuses_hs_confusion(
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    """CVE-2024-33663: an HS256 token signed with the public key (PEM or DER) must not pass."""
    private_pem, public_pem = _pems(rsa_key)
    settings = hs_settings(jwt_public_key=public_pem)
    verifier = TokenVerifier(settings)
    assert verifier.algorithm == "RS256"
    good = jwt.encode(_claims(), private_pem, algorithm="RS256")
    assert verifier.verify(good).sub == "alice"

    der = rsa_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for key in (public_pem.encode(), der):
        with pytest.raises(Unauthorized):
            verifier.verify(_hs256_with_key(key, _claims()))
    # the service's HS secret is not a way in either once a public key is configured
    with pytest.raises(Unauthorized):
        verifier.verify(jwt.encode(_claims(), TEST_SECRET, "HS256"))


def test_es256_public_key_file_and_jwks(tmp_path: Path) -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    private_pem, public_pem = _pems(private)
    key_file = tmp_path / "pub.pem"
    key_file.write_text(public_pem)
    verifier = TokenVerifier(hs_settings(jwt_public_key=str(key_file)))
    assert verifier.algorithm == "ES256"
    assert verifier.verify(jwt.encode(_claims(), private_pem, algorithm="ES256")).sub == "alice"

    from jose import jwk as jose_jwk

    public_jwk = jose_jwk.construct(public_pem, "ES256").to_dict()
    public_jwk["kid"] = "k1"
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [public_jwk]}))
    verifier = TokenVerifier(hs_settings(jwks_file=jwks))
    token = jwt.encode(_claims(), private_pem, algorithm="ES256", headers={"kid": "k1"})
    assert verifier.verify(token).role is Role.agent
    with pytest.raises(Unauthorized):
        verifier.verify(_hs256_with_key(public_pem.encode(), _claims()))


def test_secret_cannot_be_key_material(rsa_key: rsa.RSAPrivateKey) -> None:
    _private, public_pem = _pems(rsa_key)
    with pytest.raises(ValueError, match="not key material"):
        hs_settings(jwt_secret=public_pem)


def test_mint_with_private_key(rsa_key: rsa.RSAPrivateKey) -> None:
    private_pem, public_pem = _pems(rsa_key)
    settings = hs_settings(jwt_public_key=public_pem, jwt_private_key=private_pem)
    token = mint_token(settings, role=Role.admin, sub="ops")
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    assert TokenVerifier(settings).verify(token).role is Role.admin


async def test_api_answers_401_problem(client, settings) -> None:  # type: ignore[no-untyped-def]
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"},
                    {"Authorization": "Bearer " + jwt.encode(_claims(aud="x"), TEST_SECRET)}):
        response = await client.get("/v1/requests", headers=headers)
        body = assert_problem(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"
        assert "token" in body["detail"].lower()


@pytest.mark.parametrize("kid", [[], {"k": 1}, 5, ["k1"]])
async def test_a_kid_that_is_not_a_string_is_401_not_500(
    rsa_key: rsa.RSAPrivateKey, tmp_path: Path, database_url: str, kid: object
) -> None:
    """An unhashable kid once made the JWKS lookup raise TypeError before authentication."""
    import httpx
    from jose import jwk as jose_jwk

    from app.main import create_app

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    keys = []
    for name, private in (("k1", rsa_key), ("k2", other)):
        entry = jose_jwk.construct(_pems(private)[1], "RS256").to_dict()
        entry["kid"] = name
        keys.append(entry)
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": keys}))
    settings = make_settings(database_url, jwks_file=jwks)
    header = _b64(json.dumps({"alg": "RS256", "kid": kid}).encode())
    token = f"{header}.{_b64(json.dumps(_claims()).encode())}.{_b64(b'x' * 256)}"
    with pytest.raises(Unauthorized):
        TokenVerifier(settings).verify(token)
    good = jwt.encode(_claims(), _pems(rsa_key)[0], algorithm="RS256", headers={"kid": "k1"})
    assert TokenVerifier(settings).verify(good).sub == "alice"
    app = create_app(settings)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://dsr.test"
    ) as client:
        answer = await client.get("/v1/requests", headers={"Authorization": f"Bearer {token}"})
    assert_problem(answer, 401)


@pytest.mark.parametrize(("label", "over"), [
    ("exp as a numeric string", {"exp": str(int(time.time()) + 300)}),
    ("iat as a numeric string", {"iat": str(int(time.time()))}),
    ("nbf as a numeric string", {"nbf": str(int(time.time()) - 10)}),
    ("exp as a boolean", {"exp": True}),
    ("iat in the future", {"iat": int(time.time()) + 3600}),
    ("exp of 10^20", {"exp": 10**20}),
    ("exp a year ahead", {"exp": int(time.time()) + 365 * 24 * 3600}),
])
async def test_time_claims_out_of_shape_or_range_are_401(client, label: str, over) -> None:  # type: ignore[no-untyped-def]
    """python-jose takes "exp": "1764410400" for a number and checks neither a future iat nor
    an exp that never comes; each of these was accepted."""
    token = jwt.encode(_claims(**over), TEST_SECRET, "HS256")
    response = await client.get("/v1/requests", headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, 401)
    fine = jwt.encode(_claims(iat=int(time.time()) + 5), TEST_SECRET, "HS256")  # clock skew
    assert (await client.get("/v1/requests", headers={
        "Authorization": f"Bearer {fine}"})).status_code == 200


def test_mint_refuses_a_lifetime_the_verifier_would_refuse() -> None:
    with pytest.raises(ValueError, match="lifetime"):
        mint_token(hs_settings(), role=Role.agent, sub="a", ttl_seconds=365 * 24 * 3600)
