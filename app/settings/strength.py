"""How strong a secret is: what production refuses in the JWT secret, the data keys and
the webhook secrets, and the development secrets it must never see.

Each check returns the problems it finds as lines naming the setting (never its value), for
:meth:`app.settings.Settings.production_problems` to report all at once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
from collections import Counter

from pydantic import SecretStr

from app.partners import configured

DEV_JWT_SECRET = "dsr-development-secret-do-not-use-in-production"  # noqa: S105
DEV_DATA_KEY = "ZHNyLWRldmVsb3BtZW50LWRhdGEta2V5LTMyYnl0ZXM="
# The partners with settings, each with a development webhook secret of its own.
PARTNER_SYSTEMS = tuple(entry.name for entry in configured())


def dev_webhook_secret(system: str) -> str:
    """The development secret the sandbox and the service share for one partner."""
    digest = hashlib.sha256(f"dsr-sandbox-webhook-{system}".encode()).digest()
    return "whsec_" + base64.b64encode(digest).decode()


MIN_WEBHOOK_SECRET_BYTES = 24


def estimated_bits(data: bytes) -> float:
    """An upper estimate of the randomness in ``data``: its length times the Shannon entropy
    of its byte frequencies. ``aaaa…`` has none; 32 random bytes have about 150."""
    if not data:
        return 0.0
    counts = Counter(data)
    return -sum(n * math.log2(n / len(data)) for n in counts.values())


# Secrets people make up ("Connect2IP-production-jwt-secret-2026!!") have plenty of distinct
# characters, so a per-character entropy count passes them. zxcvbn (Dropbox's estimator, the
# one password checkers use) counts them as an attacker guesses: words, names, years, l33t
# and keyboard patterns, and the words of this service below. A signing secret is attacked
# offline, so the bar is far above a login password's: 10^30 guesses (about 100 bits); 32
# random letters and digits are estimated at 10^31 or more, `openssl rand -base64 32` 10^42.
MIN_GUESSES_LOG10 = 30.0
SERVICE_WORDS = ("connect2ip", "connect", "dsr", "gdpr", "production", "prod", "development",
                 "dev", "staging", "sandbox", "secret", "jwt", "key", "data", "audit",
                 "webhook", "portal", "token", "password", *PARTNER_SYSTEMS, "sweden",
                 "sverige")
_ZXCVBN_CHARS = 100  # its cost grows with the length; a longer secret is judged by its start


def guessable(secret: str) -> float | None:
    """zxcvbn's estimate (log10 of the guesses) when ``secret`` is too weak to sign with,
    else None."""
    from zxcvbn import zxcvbn

    estimate = float(zxcvbn(secret[:_ZXCVBN_CHARS], user_inputs=list(SERVICE_WORDS))[
        "guesses_log10"])
    return estimate if estimate < MIN_GUESSES_LOG10 else None


def readable(key: bytes) -> bool:
    """Key bytes that are all printable ASCII: the base64 of a phrase, not of random bytes
    (32 random bytes are all printable once in 10^13)."""
    return all(0x20 <= byte < 0x7F for byte in key)


def whsec_bytes(secret: str) -> bytes | None:
    """The key in a ``whsec_<base64>`` secret, or None when it is not in that form."""
    if not secret.startswith("whsec_"):
        return None
    try:
        return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        return None



def jwt_secret_problems(secret: str) -> list[str]:
    """What is wrong with an HS signing secret for production."""
    if secret.strip() == DEV_JWT_SECRET:
        return ["DSR_JWT_SECRET is the development secret; set a random secret "
                "(`openssl rand -base64 32`) or DSR_JWT_PUBLIC_KEY / DSR_JWKS_FILE"]
    if estimated_bits(secret.encode()) < 128:
        return ["DSR_JWT_SECRET is too predictable (under 128 bits of randomness); use "
                "32 random bytes, e.g. `openssl rand -base64 32`"]
    estimate = guessable(secret)
    if estimate is not None:
        return [f"DSR_JWT_SECRET is too predictable: made of words, dates or patterns an "
                f"attacker tries first (about 10^{int(estimate)} guesses, 10^"
                f"{int(MIN_GUESSES_LOG10)} needed); use `openssl rand -base64 32`"]
    return []

def audit_key_problems(audit_key: str) -> list[str]:
    """What is wrong with the audit key (unset is ``""``) for production."""
    if estimated_bits(audit_key.encode()) < 128 or guessable(audit_key) is not None:
        return ["DSR_AUDIT_KEY must be set to a random secret kept outside the database "
                "(`openssl rand -base64 32`)"]
    return []


def data_key_problems(keys: list[str]) -> list[str]:
    """What is wrong with the data keys (Fernet, each rotated one) for production."""
    problems = []
    for number, key in enumerate(keys, start=1):
        which = "DSR_DATA_KEY" if len(keys) == 1 else f"DSR_DATA_KEY (key {number})"
        if key == DEV_DATA_KEY:
            problems.append(f"{which} is the development key; make one with `dsr keygen`")
            continue
        try:
            raw = base64.urlsafe_b64decode(key)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            problems.append(f"{which} is not a Fernet key; make one with `dsr keygen`")
        elif estimated_bits(raw) < 128 or readable(raw):
            problems.append(f"{which} is not random (it encodes text, or repeats); make "
                            "one with `dsr keygen`")
    return problems


def webhook_secret_problems(name: str, secrets: list[str]) -> list[str]:
    """What is wrong with a Standard Webhooks secret setting (each rotated secret in it)."""
    development = {dev_webhook_secret(system) for system in (*PARTNER_SYSTEMS, "portal")}
    problems = []
    for secret in secrets or [""]:
        key = whsec_bytes(secret)
        if secret in development:
            problems.append(f"{name} is a development secret (derived from the source code); "
                            "make a new one")
        elif key is None:
            problems.append(f"{name} must be whsec_ followed by base64")
        elif len(key) < MIN_WEBHOOK_SECRET_BYTES:
            problems.append(f"{name} must hold at least {MIN_WEBHOOK_SECRET_BYTES} random "
                            "bytes after whsec_")
        elif estimated_bits(key) < 96 or readable(key):
            problems.append(f"{name} is not random (it encodes text, or repeats); make one "
                            "with `dsr keygen --webhook`")
    return problems


def shared_secret_problems(named: list[tuple[str, SecretStr | None]]) -> list[str]:
    """A secret set in more than one of the ``(setting, value)`` pairs: a partner that knows
    its own webhook secret could sign callbacks as the others (or as the portal), and a JWT
    secret or audit key that is also a webhook secret is known to a partner."""
    holders: dict[str, list[str]] = {}
    for name, value_set in named:
        if value_set is None:
            continue
        for secret in value_set.get_secret_value().split():
            key = whsec_bytes(secret)  # the same key however its base64 is written
            value = base64.b64encode(key).decode() if key else secret
            if name not in holders.setdefault(value, []):
                holders[value].append(name)
    return [f"{', '.join(names[:-1])} and {names[-1]} are set to the same secret; each "
            "needs its own (one who knows one of them could act as the others)"
            for names in holders.values() if len(names) > 1]
