"""The audit keys: everything the trail is chained, checkpointed and signed with.

One secret, ``DSR_AUDIT_KEY``, kept outside the database (required in production; derived from
the development JWT secret otherwise), gives three keys, each for one purpose:

- the chain key: each event's ``hash`` is HMAC-SHA256 with it, so a database writer who edits
  an event cannot recompute the chain (the unkeyed SHA-256 of before could be);
- the ledger key: the MAC of each ledger checkpoint (app/audit/ledger.py);
- the Ed25519 signing key of exported trails, whose public half is published
  (``dsr audit public-key``) so an auditor verifies an export without any secret.

The process reads the secret from its settings (environment, ``.env``) once, the first time an
event is chained; the API, the workers and the ``dsr`` command read the same settings.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from functools import cached_property

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from app.settings import Settings


def _derive(secret: bytes, label: str) -> bytes:
    return hmac.new(secret, f"dsr-audit/{label}".encode(), hashlib.sha256).digest()


@dataclass(frozen=True)
class AuditKeys:
    secret: bytes

    @cached_property
    def chain(self) -> bytes:
        return _derive(self.secret, "chain/v2")

    @cached_property
    def ledger(self) -> bytes:
        return _derive(self.secret, "ledger/v1")

    @cached_property
    def signing(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(_derive(self.secret, "signing/v1"))

    @cached_property
    def public(self) -> Ed25519PublicKey:
        return self.signing.public_key()

    @cached_property
    def chain_mac(self) -> hmac.HMAC:
        """A keyed HMAC to ``copy()`` per event (the key schedule is done once)."""
        return hmac.new(self.chain, digestmod=hashlib.sha256)


def for_settings(settings: Settings) -> AuditKeys:
    if settings.audit_key is not None:
        return AuditKeys(settings.audit_key.get_secret_value().encode())
    return AuditKeys(_derive(settings.jwt_secret.get_secret_value().encode(), "development"))


_current: AuditKeys | None = None


def current() -> AuditKeys:
    """This process's keys (from its settings, read once)."""
    global _current
    if _current is None:
        _current = for_settings(Settings())
    return _current


def use(keys: AuditKeys | None) -> None:
    """Set this process's keys (None: read the settings again on next use)."""
    global _current
    _current = keys


def public_key_text(key: Ed25519PublicKey) -> str:
    """The published verification key: base64 of the 32 raw Ed25519 bytes."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def public_key_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def key_id(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def load_public_key(value: str) -> Ed25519PublicKey:
    """A verification key given as base64 of its 32 raw bytes or PEM, or a file holding one."""
    from pathlib import Path

    text = value.strip()
    if not text.startswith("-----BEGIN"):
        path = Path(text).expanduser()
        if len(text) < 4096 and path.is_file():
            text = path.read_text().strip()
    if text.startswith("-----BEGIN"):
        loaded = serialization.load_pem_public_key(text.encode())
        if not isinstance(loaded, Ed25519PublicKey):
            raise ValueError("not an Ed25519 public key")
        return loaded
    raw = base64.b64decode(text, validate=True)
    return Ed25519PublicKey.from_public_bytes(raw)
