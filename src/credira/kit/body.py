"""The base of every request body model: unknown fields refused, ``null`` taken as absent.

Clients generated from the documentation send every optional field, ``null`` for those they
leave unset. A field that cannot hold ``null`` because it has a value of its own when left out
(``priority`` is ``"medium"``, ``metadata`` is ``{}``) takes ``null`` as left out, and the
document declares it nullable. A field that can hold ``null`` keeps its meaning for it (on an
update, ``"payment_url": null`` removes the link).
"""

from __future__ import annotations

import types
from typing import Any, ClassVar, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, GetJsonSchemaHandler, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

# Keywords that describe a property rather than constrain its value: they stay beside the
# ``anyOf`` that adds ``null``.
_ANNOTATIONS = ("title", "description", "default", "examples", "deprecated")


def _admits_none(annotation: Any) -> bool:
    if annotation is None or annotation is type(None) or annotation is Any:
        return True
    if get_origin(annotation) in (Union, types.UnionType):
        return any(_admits_none(arg) for arg in get_args(annotation))
    return False


class RequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The optional fields that cannot hold null, whose null is dropped before validation.
    null_means_absent: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls.null_means_absent = frozenset(
            name
            for name, field in cls.model_fields.items()
            if not field.is_required() and not _admits_none(field.annotation)
        )

    @model_validator(mode="before")
    @classmethod
    def _null_is_absent(cls, data: Any) -> Any:
        if isinstance(data, dict) and cls.null_means_absent:
            return {
                key: value
                for key, value in data.items()
                if value is not None or key not in cls.null_means_absent
            }
        return data

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(core_schema)
        model = handler.resolve_ref_schema(json_schema)
        properties = model.get("properties", {})
        for name in cls.null_means_absent:
            if name in properties:
                properties[name] = _nullable(properties[name])
        return json_schema


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    described = {key: schema[key] for key in _ANNOTATIONS if key in schema}
    value = {key: item for key, item in schema.items() if key not in _ANNOTATIONS}
    return {"anyOf": [value, {"type": "null"}], **described}
