"""What a partner is configured with: its URL, credentials, webhook secret and limits.

One model per partner, nested in :class:`app.settings.Settings` under the partner's name; a
partner that needs more (OAuth2 client credentials, say) subclasses it in its connector module.
The flat environment variables of the contract (``DSR_<SYSTEM>_URL``, ``DSR_<SYSTEM>_RATE``,
...) reach these fields: ``Settings`` reads them into the nested model of that name.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr

_RATE = re.compile(r"^\d+/\d+(\.\d+)?$")


def check_rate(value: str) -> str:
    """A rate as ``N/S`` (N calls per S seconds); empty for no limit."""
    if value and not _RATE.match(value):
        raise ValueError("must be N/S, e.g. 25/5 for 25 calls per 5 seconds")
    return value


def parse_rate(value: str) -> tuple[int, float]:
    """``"25/5"`` as (25, 5.0); no rate as (0, 1.0), which lifts the limit."""
    if not value:
        return 0, 1.0
    count, _, period = value.partition("/")
    return int(count), float(period)


Rate = Annotated[str, AfterValidator(check_rate)]


class PartnerSettings(BaseModel):
    """One partner's settings; each field is ``DSR_<SYSTEM>_<FIELD>`` in the environment."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    url: str | None = None  # unset: the sandbox's stand-in, outside production
    # Standard Webhooks secrets (whsec_...) the partner signs its callbacks with. Several may
    # be given, separated by spaces, while the partner rotates its key.
    webhook_secret: SecretStr | None = None
    api_key: SecretStr | None = None  # sent as a Bearer token
    timeout_s: float = Field(default=10.0, gt=0)
    concurrency: int = Field(default=4, ge=1)
    rate: Rate = ""  # "N/S": N calls per S seconds; empty: no limit

    def limits(self) -> tuple[float, int, int, float]:
        """(timeout s, concurrency, rate count, rate period s)."""
        return (self.timeout_s, self.concurrency, *parse_rate(self.rate))

    def production_problems(self, env_name: str) -> list[str]:
        """What production refuses in the partner's own extra settings (``env_name`` is the
        prefix of its variables, ``DSR_<SYSTEM>``). The common fields are checked by
        :class:`app.settings.Settings`."""
        return []
