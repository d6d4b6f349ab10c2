"""The partners' settings inside :class:`app.settings.Settings`: one nested model per partner,
under its name, reached by the flat names of the contract.

The model is the one the partner's registry entry names (``app.partners``). pydantic-settings
splits ``DSR_<SYSTEM>_<FIELD>`` once after the system's name, so the environment fills the
nested model; ``<system>_<field>`` as a keyword (``Settings(<system>_rate="25/5")``) and as an
attribute reach the same field.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field, create_model, model_validator
from pydantic_settings import BaseSettings

from app.connectors.config import PartnerSettings
from app.partners import PARTNERS, configured


def _flat_names() -> dict[str, tuple[str, str]]:
    """Each flat name of a partner setting (``<system>_rate``) as (partner, field)."""
    return {f"{entry.name}_{name}": (entry.name, name)
            for entry in configured() if entry.settings is not None
            for name in entry.settings.model_fields}


FLAT_NAMES = _flat_names()


def flat_default(flat: str) -> Any:
    """A partner setting's default, by its flat name."""
    system, name = FLAT_NAMES[flat]
    model = PARTNERS[system].settings
    assert model is not None
    return model.model_fields[name].get_default(call_default_factory=True)


class PartnerAccess(BaseSettings):
    """Reads the partners' nested settings; the fields themselves are added per partner."""

    @model_validator(mode="before")
    @classmethod
    def _flat_partner_settings(cls, data: Any) -> Any:
        """``<system>_rate=...`` as a keyword sets that system's ``rate``, over what the
        environment says (a keyword always wins over the environment)."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for flat in [key for key in data if key in FLAT_NAMES]:
            system, name = FLAT_NAMES[flat]
            nested = data.get(system)
            data[system] = {**(nested if isinstance(nested, dict) else {}),
                            name: data.pop(flat)}
        return data

    def __getattr__(self, name: str) -> Any:
        """A partner's setting by its flat name (``settings.<system>_client_id``), as the
        contract names it; anything else as pydantic finds it."""
        if name in FLAT_NAMES:
            system, field = FLAT_NAMES[name]
            return getattr(self.partner_settings(system), field)
        return super().__getattr__(name)  # type: ignore[misc]

    def partner_settings(self, system: str) -> PartnerSettings:
        """A partner's nested settings; ``KeyError`` for a system without settings."""
        config = self.configured(system)
        if config is None:
            raise KeyError(f"no settings for {system!r}")
        return config

    def configured(self, system: str) -> PartnerSettings | None:
        """A partner's nested settings, or None for a system without settings."""
        config = self.__dict__.get(system)
        return config if isinstance(config, PartnerSettings) else None

    def api_key(self, system: str) -> str | None:
        config = self.configured(system)
        return config.api_key.get_secret_value() if config and config.api_key else None

    def limits(self, system: str) -> tuple[float, int, int, float]:
        """(timeout s, concurrency, rate count, rate period s) for a partner."""
        return self.partner_settings(system).limits()


# Every partner's nested model as a field under its name. mypy sees the base without them:
# they are read through the methods above.
if TYPE_CHECKING:
    class PartnerFields(PartnerAccess):
        """The base of ``Settings``, as mypy sees it."""
else:
    PartnerFields = create_model("PartnerFields", __base__=PartnerAccess, **{
        entry.name: (entry.settings, Field(default_factory=entry.settings))
        for entry in configured()})
