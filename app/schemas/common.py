"""What every API body and answer shares: the base models and the short text types.

Every body refuses text the database cannot store (NUL characters) with a 422 at the field, and
every schema carries examples, so a client generated from the OpenAPI document shows them.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    SerializerFunctionWrapHandler,
    StringConstraints,
    field_validator,
    model_serializer,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from app.auth import CUSTOMER_NUMBER_PATTERN

CustomerNumber = Annotated[
    str, StringConstraints(pattern=CUSTOMER_NUMBER_PATTERN, max_length=16),
    Field(examples=["C-1001"], description="Connect2IP customer number"),
]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


def _storable(value: Any) -> bool:
    """No NUL anywhere in a string, key or nested value (PostgreSQL cannot store one), and no
    string that is blanks only."""
    if isinstance(value, str):
        return "\x00" not in value and not value.isspace()
    if isinstance(value, dict):
        return all(_storable(k) and _storable(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(_storable(item) for item in value)
    if isinstance(value, BaseModel):
        return all(_storable(getattr(value, name)) for name in type(value).model_fields)
    return True


def examples(*values: dict[str, Any]) -> ConfigDict:
    """A model's examples, shown in the OpenAPI document and the generated clients."""
    return ConfigDict(json_schema_extra={"examples": list(values)})


# Text a body accepts: something other than blanks, and no NUL anywhere.
TEXT_PATTERN = "^[^\\u0000]*[^\\u0000\\s][^\\u0000]*$"


def _document_no_nul(prop: dict[str, Any]) -> None:
    """Say in the schema what :meth:`Strict._no_nul` enforces, so clients know it too."""
    for option in prop.get("anyOf", [prop]):
        if option.get("type") == "string" and not {"pattern", "format", "enum"} & set(option):
            option["pattern"] = TEXT_PATTERN
        elif option.get("type") == "array" and isinstance(option.get("items"), dict):
            _document_no_nul(option["items"])


class Strict(BaseModel):
    """A request body: unknown fields are refused, and so is text the database cannot store."""

    model_config = ConfigDict(extra="forbid")

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        for prop in handler.resolve_ref_schema(schema).get("properties", {}).values():
            _document_no_nul(prop)
        return schema

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if not _storable(value):
            raise ValueError("must not contain NUL characters or be blank")
        return value


def _absent_not_null(schema: dict[str, Any]) -> None:
    """In the schema of a :class:`Sparse` model an unset field is absent, never null."""
    for prop in schema.get("properties", {}).values():
        prop.pop("default", None)
        kinds = prop.get("anyOf")
        if isinstance(kinds, list) and {"type": "null"} in kinds:
            rest = [kind for kind in kinds if kind != {"type": "null"}]
            prop.pop("anyOf")
            prop.update(rest[0] if len(rest) == 1 else {"anyOf": rest})


class Sparse(BaseModel):
    """An answer whose fields apply to some cases only: those that do not are left out."""

    model_config = ConfigDict(json_schema_extra=_absent_not_null)

    # No return annotation: pydantic would document the annotation instead of the fields.
    @model_serializer(mode="wrap")
    def _without_nulls(self, handler: SerializerFunctionWrapHandler):
        return {key: value for key, value in handler(self).items() if value is not None}
