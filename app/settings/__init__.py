"""The service's settings: one typed class, read from ``DSR_*`` environment variables and ``.env``.

Each partner's settings (URL, credentials, webhook secret, timeout, concurrency, rate) are a
nested model under its name, the model its registry entry names (``app.partners``); the flat
variables of the contract reach them: ``DSR_<SYSTEM>_RATE`` is the ``rate`` of the model named
``<system>``, and the keyword ``<system>_rate`` sets the same field.

Production (``DSR_ENV=production``) refuses what is only safe on a laptop: development or
guessable secrets and keys, plain-HTTP URLs, SQLite, the partner sandbox and its credentials.
Every unsafe value is found at once and reported in one message (:class:`UnsafeSettings`)
before anything starts, so an operator fixes them in one round rather than one per restart.

``DSR_ENV`` unset means development, which is safe only on the developer's own machine: there
the JWT secret is public (it is in the source) and the sandbox answers for partners. So outside
production ``dsr serve`` binds loopback addresses only (see :meth:`Settings.check_bind`).
"""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import NoDecode, SettingsConfigDict

from app.partners import PARTNERS
from app.settings.partners import FLAT_NAMES, PartnerFields, flat_default
from app.settings.strength import (
    DEV_DATA_KEY,
    DEV_JWT_SECRET,
    PARTNER_SYSTEMS,
    audit_key_problems,
    data_key_problems,
    dev_webhook_secret,
    jwt_secret_problems,
    shared_secret_problems,
    webhook_secret_problems,
)

DEFAULT_PORT = 8000

_RATE = re.compile(r"^\d+/\d+(\.\d+)?$")


class Environment(StrEnum):
    development = "development"
    production = "production"


class UnsafeSettings(ValueError):
    """Settings that must never reach production did (or are not valid at all: ``invalid``
    of them); ``problems`` lists every one."""

    def __init__(self, problems: list[str], *, invalid: int = 0) -> None:
        self.problems = problems
        kind = "invalid or unsafe" if invalid else "unsafe"
        count = f"{len(problems)} {kind} setting{'s' if len(problems) > 1 else ''}"
        super().__init__(f"{count}:\n" + "\n".join(f"  - {p}" for p in problems))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _read_pem(value: str | None) -> str | None:
    """A PEM setting is either the PEM text itself or a path to a file holding it."""
    if not value:
        return None
    text = value.strip()
    if text.startswith("-----BEGIN"):
        return text + "\n"
    path = Path(text).expanduser()
    if not path.is_file():
        raise ValueError("must be PEM text or the path of a readable PEM file")
    return path.read_text()


class Settings(PartnerFields):
    # DSR_<SYSTEM>_<FIELD> is split once after the system's name: DSR_<SYSTEM>_CLIENT_ID is
    # the client_id of that system's model.
    model_config = SettingsConfigDict(
        env_prefix="DSR_", env_file=".env", env_file_encoding="utf-8", extra="ignore",
        env_nested_delimiter="_", env_nested_max_split=1,
    )

    env: Environment = Environment.development
    database_url: str = "sqlite+aiosqlite:///./dsr.db"
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    # The URL partners and the sandbox use to reach this service; defaults to host:port.
    public_url: str | None = None

    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    jwt_public_key: str | None = None
    jwt_private_key: str | None = None
    jwks_file: Path | None = None
    jwt_issuer: str = "connect2ip-dsr"
    jwt_audience: str = "dsr"
    token_ttl_seconds: int = Field(default=3600, gt=0, le=7 * 24 * 3600)

    sandbox: bool | None = None  # None: on in development, off in production
    sandbox_delay_ms: int = Field(default=0, ge=0, le=600_000)
    sandbox_faults: Annotated[str, NoDecode] = ""
    # The sandbox invoicing partner's own limit per access token, "N/S"; "0" lifts it (for
    # measuring).
    sandbox_fortnox_rate: str = "25/5"
    # Synthetic customers the sandbox seeds besides the demo ones, with records in every
    # partner (C-100001 onwards), for load and soak runs.
    sandbox_customers: int = Field(default=0, ge=0, le=50_000)

    # Dispatch: attempts before a task fails for good, backoff base and cap (s), lease (s).
    task_max_attempts: int = Field(default=6, ge=1, le=50)
    retry_base_s: float = Field(default=1.0, gt=0)
    retry_max_s: float = Field(default=300.0, gt=0)
    lease_s: float = Field(default=60.0, gt=0)
    worker_concurrency: int = Field(default=16, ge=1, le=256)
    # Database connections this process keeps, and may open beyond them at a peak; callers
    # beyond both wait their turn (README: sizing for N API + M worker processes).
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=5, ge=0, le=200)
    callback_timeout_s: float = Field(default=900.0, gt=0)  # then the partner is polled
    # A task a partner keeps refusing with 429 for longer than this in all fails with a reason;
    # a partner's Retry-After is never waited longer than the cap.
    max_throttle_s: float = Field(default=3600.0, gt=0)
    retry_after_cap_s: float = Field(default=3600.0, gt=0)
    housekeeping_interval_s: float = Field(default=300.0, gt=0)
    webhook_receipt_days: int = Field(default=7, ge=1)
    idempotency_key_days: int = Field(default=7, ge=1)
    case_retention_days: int = Field(default=3 * 365, ge=30)

    # Fernet key(s) that encrypt partner data held while a response is prepared; the first
    # encrypts, all decrypt (rotation). Generate one with `dsr keygen`.
    data_key: SecretStr = SecretStr(DEV_DATA_KEY)
    # The key the audit trail is chained (HMAC) and signed with, kept outside the database;
    # unset outside production: derived from the development secret (see app/audit/keys.py).
    audit_key: SecretStr | None = None

    # Notifications to the portal backend (Standard Webhooks). Unset URL: nothing is sent and
    # nothing is queued. Deliveries back off exponentially and are given up (visible to agents
    # as failed) only after notify_give_up_s, at least the 3 days the portal is promised.
    portal_webhook_url: str | None = None
    portal_webhook_secret: SecretStr | None = None
    portal_webhook_timeout_s: float = Field(default=10.0, gt=0)
    notify_retry_base_s: float = Field(default=30.0, gt=0)
    notify_retry_max_s: float = Field(default=3600.0, gt=0)
    notify_give_up_s: float = Field(default=4 * 24 * 3600.0, gt=0)
    # Art. 18(3): how long after the customer's notice of a lift was delivered (the portal
    # acknowledged it, or an agent sent the letter) the first system lifts the restriction.
    lift_notice_s: float = Field(default=3 * 24 * 3600.0, ge=0)

    # The policy's post-contract rule: lock after 6 months, erase (but accounting) after 12,
    # checked by a sweep that one worker runs once a day.
    retention_lock_months: int = Field(default=6, ge=1)
    retention_erase_months: int = Field(default=12, ge=1)
    retention_sweep_interval_s: float = Field(default=24 * 3600.0, gt=0)
    retention_sweep: bool = True  # workers run the sweep; off: only `dsr retention run` does

    max_body_bytes: int = Field(default=64 * 1024, gt=0)
    # All request headers together (names and values); more is 431. Bearer tokens from the
    # portal's identity provider are a few kB.
    max_header_bytes: int = Field(default=16 * 1024, ge=1024)
    # The response package: how long it can be downloaded before it is deleted (the request
    # keeps its SHA-256), and how many call-history rows the readable report shows (all of
    # them are in data.json).
    response_retention_days: int = Field(default=30, ge=1, le=365)
    response_report_rows: int = Field(default=100, ge=0, le=10_000)
    log_level: str = "INFO"
    run_worker: bool = True

    @field_validator("jwt_public_key", "jwt_private_key")
    @classmethod
    def _pem(cls, value: str | None) -> str | None:
        return _read_pem(value)

    @field_validator("jwt_secret")
    @classmethod
    def _secret_is_not_a_key(cls, value: SecretStr) -> SecretStr:
        # An HS secret that is really key material is how the HS/RS confusion attacks start:
        # key files belong in DSR_JWT_PUBLIC_KEY, never in the HMAC secret.
        raw = value.get_secret_value().strip()
        if raw.startswith("-----BEGIN") or raw.startswith("ssh-"):
            raise ValueError("DSR_JWT_SECRET must be a shared secret, not key material")
        if len(raw) < 32:
            raise ValueError("DSR_JWT_SECRET must be at least 32 characters")
        return value

    @field_validator("sandbox_fortnox_rate")
    @classmethod
    def _sandbox_rate(cls, value: str) -> str:
        if value != "0" and not _RATE.match(value):
            raise ValueError("must be N/S, e.g. 25/5, or 0 for no limit")
        return value

    @field_validator("portal_webhook_secret")
    @classmethod
    def _whsec(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("whsec_"):
            raise ValueError("DSR_PORTAL_WEBHOOK_SECRET must be a Standard Webhooks whsec_ secret")
        return value

    @model_validator(mode="after")
    def _portal_secret_with_url(self) -> Settings:
        if self.portal_webhook_url and self.portal_webhook_secret is None:
            raise ValueError("DSR_PORTAL_WEBHOOK_URL needs DSR_PORTAL_WEBHOOK_SECRET (whsec_...)")
        return self

    @field_validator("jwks_file")
    @classmethod
    def _jwks_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError("DSR_JWKS_FILE must name a readable JSON file")
        return value

    @model_validator(mode="after")
    def _one_verification_key(self) -> Settings:
        if self.jwt_public_key and self.jwks_file:
            raise ValueError("set DSR_JWT_PUBLIC_KEY or DSR_JWKS_FILE, not both")
        return self

    # -- derived -----------------------------------------------------------------------------

    @property
    def notifications_enabled(self) -> bool:
        return bool(self.portal_webhook_url)

    @property
    def is_production(self) -> bool:
        return self.env is Environment.production

    @property
    def sandbox_enabled(self) -> bool:
        return (not self.is_production) if self.sandbox is None else self.sandbox

    @property
    def service_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def partner_url(self, system: str) -> str:
        configured = self.partner_settings(system).url
        return (configured or f"{self.service_url}/sandbox/{system}").rstrip("/")

    def webhook_secrets(self, system: str) -> list[str]:
        """The secrets a partner's callbacks may be signed with (several during rotation)."""
        config = self.configured(system)
        if config is not None and config.webhook_secret is not None:
            return config.webhook_secret.get_secret_value().split()
        return [] if self.is_production else [dev_webhook_secret(system)]

    def check_production(self) -> None:
        """Raise :class:`UnsafeSettings` listing every unsafe value, if in production."""
        problems = self.production_problems() if self.is_production else []
        if problems:
            raise UnsafeSettings(problems)

    def check_bind(self, host: str) -> None:
        """Outside production only loopback: the development secrets are public."""
        if not self.is_production and not _is_loopback(host):
            raise UnsafeSettings([
                f"DSR_HOST {host} is not a loopback address: outside production (DSR_ENV is "
                f"{self.env.value}) the JWT secret is public and the sandbox is open, so "
                "only 127.0.0.1, ::1 or localhost may be bound; set DSR_ENV=production "
                "with real settings to serve others"])

    def production_problems(self) -> list[str]:
        """Every setting that is unsafe in production, each in one line naming it."""
        problems: list[str] = []
        if self.sandbox_enabled:
            problems.append("DSR_SANDBOX must be off in production")
        if not self.database_url.startswith("postgresql"):
            problems.append("DSR_DATABASE_URL must be a PostgreSQL URL "
                            "(postgresql+asyncpg://…) in production")
        if not (self.public_url or "").startswith("https://"):
            problems.append("DSR_PUBLIC_URL must be set to the https:// URL partners and the "
                            "portal reach this service at (every API and worker process)")
        problems += self._jwt_problems()
        problems += data_key_problems(self.data_key.get_secret_value().split())
        problems += audit_key_problems(self.audit_key.get_secret_value() if self.audit_key
                                       else "")
        for system in PARTNER_SYSTEMS:
            url = self.partner_settings(system).url
            if not url:  # the default is the sandbox, which production does not have
                problems.append(f"DSR_{system.upper()}_URL must be set to the partner's URL")
            elif not url.startswith("https://"):
                problems.append(f"DSR_{system.upper()}_URL must be an https:// URL")
        for system in PARTNER_SYSTEMS:
            configured = self.partner_settings(system).webhook_secret
            name = f"DSR_{system.upper()}_WEBHOOK_SECRET"
            if configured is None:
                if PARTNERS[system].calls_back:
                    problems.append(f"{name} must be set (the partner signs its callbacks)")
                continue
            problems += webhook_secret_problems(name, configured.get_secret_value().split())
        if self.portal_webhook_url:
            if not self.portal_webhook_url.startswith("https://"):
                problems.append("DSR_PORTAL_WEBHOOK_URL must be an https:// URL")
            if self.portal_webhook_secret is not None:
                problems += webhook_secret_problems(
                    "DSR_PORTAL_WEBHOOK_SECRET",
                    self.portal_webhook_secret.get_secret_value().split())
            if self.notify_give_up_s < 3 * 24 * 3600:
                problems.append("DSR_NOTIFY_GIVE_UP_S must be at least 3 days (259200)")
        problems += shared_secret_problems([
            ("DSR_JWT_SECRET", None if self.jwt_public_key or self.jwks_file
             else self.jwt_secret), ("DSR_AUDIT_KEY", self.audit_key),
            *((f"DSR_{system.upper()}_WEBHOOK_SECRET",
               self.partner_settings(system).webhook_secret) for system in PARTNER_SYSTEMS),
            ("DSR_PORTAL_WEBHOOK_SECRET", self.portal_webhook_secret)])
        for system in PARTNER_SYSTEMS:  # what a partner's own settings refuse (sandbox logins)
            problems += self.partner_settings(system).production_problems(
                f"DSR_{system.upper()}")
        return problems

    def _jwt_problems(self) -> list[str]:
        if self.jwt_public_key is not None or self.jwks_file is not None:
            return []
        return jwt_secret_problems(self.jwt_secret.get_secret_value())

def _invalid(exc: ValidationError) -> tuple[list[str], set[str]]:
    """Each validation error as a line naming its setting (never the value given), and the
    fields that failed."""
    lines, fields = [], set()
    for error in exc.errors():
        message = str(error["msg"]).removeprefix("Value error, ")
        if not error["loc"]:  # a rule across settings: its message names them
            lines.append(message)
            continue
        # A partner's field goes by its flat name: (<system>, "rate") is DSR_<SYSTEM>_RATE.
        field = "_".join(str(part) for part in error["loc"][:2]) \
            if error["loc"][0] in PARTNERS else str(error["loc"][0])
        fields.add(field)
        name = f"DSR_{field.upper()}"
        lines.append(message if message.startswith(name) else f"{name}: {message}")
    return lines, fields


def load_settings(**overrides: Any) -> Settings:
    """The settings, or :class:`UnsafeSettings` listing every problem at once: a value that
    is not valid used to hide all the others (a 31-character JWT secret, then 14 more things
    to fix, one restart each). A field that fails validation is set aside (its default
    stands in, and what production would say of that default is not reported) so the rest
    are still checked."""
    invalid: list[str] = []
    failed: set[str] = set()
    while True:
        stand_ins = {field: flat_default(field) if field in FLAT_NAMES else
                     Settings.model_fields[field].get_default(call_default_factory=True)
                     for field in failed}
        try:
            settings = Settings(**{**overrides, **stand_ins})
        except ValidationError as exc:
            lines, fields = _invalid(exc)
            invalid += lines
            if not fields or fields <= failed:  # nothing more to set aside
                raise UnsafeSettings(invalid, invalid=len(invalid)) from None
            failed |= fields
            continue
        break
    names = {f"DSR_{field.upper()}" for field in failed}
    problems = invalid + [problem for problem in (
        settings.production_problems() if settings.is_production else [])
        if problem.split()[0].rstrip(":,") not in names]
    if problems:
        raise UnsafeSettings(problems, invalid=len(invalid))
    return settings
