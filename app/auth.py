"""Bearer-token authentication: every JWT decision of the service is made in this module.

The verifier is built once from the settings and fixes both the algorithm and the key type:

- ``DSR_JWT_PUBLIC_KEY``: one RSA (RS256) or EC P-256 (ES256) public key;
- ``DSR_JWKS_FILE``: a JSON Web Key Set of such keys, chosen by the token's ``kid``;
- otherwise ``DSR_JWT_SECRET`` with HS256, for local use.

python-jose trusts the token's ``alg`` header unless ``algorithms`` is passed, and (through 3.5.0)
accepts a DER-encoded public key as an HMAC secret (CVE-2024-33663). So every decode passes
exactly one algorithm, the key handed to jose is already a typed key object of that algorithm,
and an HS secret can never be a key file (the settings refuse one). ``alg: none`` and HS/RS
confusion are refused before the signature is even looked at.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeGuard

from jose import jwk, jwt
from jose.exceptions import ExpiredSignatureError, JOSEError, JWKError

from app.errors import Unauthorized
from app.settings import Settings

# ASCII digits only and the whole string: Python's ``\d`` also matches full-width and
# Arabic-Indic digits, and its ``$`` matches before a trailing newline (a claim "C-1001\n"
# once reached a partner URL). The pattern for pydantic and the OpenAPI document means the
# same there: ``[0-9]``, and ``$`` is the end of the text in both of their regex dialects.
CUSTOMER_NUMBER_PATTERN = r"^C-[0-9]{1,12}$"
CUSTOMER_NUMBER_RE = re.compile(r"\AC-[0-9]{1,12}\Z")
MAX_SUBJECT_CHARS = 100
# A bearer token longer than this is refused before it is decoded; real ones are a few kB.
MAX_TOKEN_CHARS = 8192
# The time claims: NumericDates (RFC 7519 §2: JSON numbers, not strings; python-jose reads
# "exp": "9999999999" as a number). A token may not expire more than MAX_TOKEN_LIFETIME_S
# from now (an "exp" of 10^20 is a key that never expires; the service mints at most
# DSR_TOKEN_TTL_SECONDS, itself at most 7 days) nor claim to be issued later than the clock
# allows for (CLOCK_SKEW_S).
TIME_CLAIMS = ("exp", "iat", "nbf")
MAX_TOKEN_LIFETIME_S = 7 * 24 * 3600
CLOCK_SKEW_S = 60


class Role(StrEnum):
    portal = "portal"
    agent = "agent"
    admin = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    sub: str
    role: Role
    customer_number: str | None = None

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.agent, Role.admin)

    @property
    def label(self) -> str:
        """Who acted, for the audit trail: the token subject and its role."""
        return f"{self.role.value}:{self.sub}"


def _key_algorithm(public_pem: str) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    key = load_pem_public_key(public_pem.encode())
    if isinstance(key, rsa.RSAPublicKey):
        return "RS256"
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return "ES256"
    raise ValueError("DSR_JWT_PUBLIC_KEY must be an RSA or EC P-256 public key")


_ASYMMETRIC = {"RSA": "RS256", "EC": "ES256"}


class TokenVerifier:
    """Verifies tokens against exactly one configured algorithm and key source."""

    def __init__(self, settings: Settings) -> None:
        self.audience = settings.jwt_audience
        self.issuer = settings.jwt_issuer
        self._keys: dict[str | None, Any]
        if settings.jwt_public_key:
            self.algorithm = _key_algorithm(settings.jwt_public_key)
            self._keys = {None: jwk.construct(settings.jwt_public_key, self.algorithm)}
        elif settings.jwks_file:
            self._keys, self.algorithm = self._load_jwks(settings.jwks_file.read_text())
        else:
            self.algorithm = "HS256"
            self._keys = {None: jwk.construct(settings.jwt_secret.get_secret_value(), "HS256")}

    @staticmethod
    def _load_jwks(text: str) -> tuple[dict[str | None, Any], str]:
        keys: dict[str | None, Any] = {}
        algorithms: set[str] = set()
        for entry in json.loads(text).get("keys", []):
            algorithm = _ASYMMETRIC.get(entry.get("kty", ""))
            if algorithm is None or entry.get("alg", algorithm) != algorithm:
                raise ValueError("DSR_JWKS_FILE may hold only RS256 or ES256 public keys")
            if "d" in entry:
                raise ValueError("DSR_JWKS_FILE must hold public keys only")
            keys[entry.get("kid")] = jwk.construct(entry, algorithm)
            algorithms.add(algorithm)
        if len(algorithms) != 1:
            raise ValueError("DSR_JWKS_FILE must hold keys of exactly one algorithm")
        return keys, algorithms.pop()

    def verify(self, token: str) -> Principal:
        if len(token) > MAX_TOKEN_CHARS:
            raise Unauthorized("The bearer token is too long.")
        try:
            header = jwt.get_unverified_header(token)
        except JOSEError:
            raise Unauthorized("The bearer token is malformed.") from None
        if not isinstance(header, dict) or header.get("alg") != self.algorithm:
            raise Unauthorized("The bearer token is not signed with the accepted algorithm.")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):  # e.g. a list: not a key name at all
            raise Unauthorized("The bearer token's key id is not a string.")
        key = self._keys.get(kid) if len(self._keys) > 1 else next(
            iter(self._keys.values())
        )
        if key is None:
            raise Unauthorized("The bearer token's key is not known.")
        try:
            claims = jwt.decode(
                token, key, algorithms=[self.algorithm], audience=self.audience,
                issuer=self.issuer,
                options={"require_exp": True, "require_aud": True, "require_iss": True,
                         "require_sub": True},
            )
        except ExpiredSignatureError:
            raise Unauthorized("The bearer token has expired.") from None
        except (JOSEError, JWKError, ValueError, TypeError):
            raise Unauthorized("The bearer token is invalid.") from None
        check_times(claims, time.time())
        return principal_from_claims(claims)


def _numeric_date(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool) \
        and math.isfinite(value)


def check_times(claims: dict[str, Any], now: float) -> None:
    """The time claims as RFC 7519 has them, and within what this service accepts."""
    for name in TIME_CLAIMS:
        if name in claims and not _numeric_date(claims[name]):
            raise Unauthorized(f"The bearer token's {name} claim is not a number.")
    if claims["exp"] > now + MAX_TOKEN_LIFETIME_S:
        raise Unauthorized("The bearer token expires too far in the future.")
    if "iat" in claims and claims["iat"] > now + CLOCK_SKEW_S:
        raise Unauthorized("The bearer token claims to be issued in the future.")


def _printable(value: object, max_chars: int) -> TypeGuard[str]:
    """A non-empty string without control characters, NUL or lone surrogates (which the
    database cannot store) and without surrounding blanks."""
    return (isinstance(value, str) and 0 < len(value) <= max_chars and value.isprintable()
            and value.strip() == value)


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    try:
        role = Role(str(claims.get("role")))
    except ValueError:
        raise Unauthorized("The bearer token carries no known role.") from None
    sub = claims.get("sub")
    if not _printable(sub, MAX_SUBJECT_CHARS):
        raise Unauthorized("The bearer token's subject is invalid.")
    customer = claims.get("customer_number")
    if role is Role.portal:
        if not isinstance(customer, str) or not CUSTOMER_NUMBER_RE.match(customer):
            raise Unauthorized("A portal token must carry a valid customer_number claim.")
        return Principal(sub=sub, role=role, customer_number=customer)
    return Principal(sub=sub, role=role)


def mint_token(
    settings: Settings, *, role: Role, sub: str, customer_number: str | None = None,
    ttl_seconds: int | None = None,
) -> str:
    """A signed token for local use: HS256 with the secret, or the configured private key."""
    if role is Role.portal and not (customer_number and CUSTOMER_NUMBER_RE.match(customer_number)):
        raise ValueError("a portal token needs --customer, e.g. C-1001")
    ttl = ttl_seconds or settings.token_ttl_seconds
    if not 0 < ttl <= MAX_TOKEN_LIFETIME_S:
        raise ValueError(f"a token's lifetime is 1 to {MAX_TOKEN_LIFETIME_S} seconds")
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": sub, "role": role.value, "aud": settings.jwt_audience, "iss": settings.jwt_issuer,
        "iat": now, "exp": now + ttl,
    }
    if customer_number:
        claims["customer_number"] = customer_number
    if settings.jwt_private_key:
        from cryptography.hazmat.primitives.serialization import (
            Encoding,
            PublicFormat,
            load_pem_private_key,
        )

        private = load_pem_private_key(settings.jwt_private_key.encode(), password=None)
        public_pem = private.public_key().public_bytes(
            Encoding.PEM, PublicFormat.SubjectPublicKeyInfo
        ).decode()
        algorithm = _key_algorithm(public_pem)
        return str(jwt.encode(claims, settings.jwt_private_key, algorithm=algorithm))
    if settings.jwt_public_key or settings.jwks_file:
        raise ValueError("tokens for an asymmetric key need DSR_JWT_PRIVATE_KEY")
    return str(jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256"))
