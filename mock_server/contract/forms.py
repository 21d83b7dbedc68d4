"""What the contract says of a `multipart/form-data` body: which parts are files, how a text field is typed,
and the check of the whole form, once its parts have been read (`middleware/uploads.py` reads them)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from .. import errors

if TYPE_CHECKING:
    from .validation import SchemaCheck

INTEGER = re.compile(r"^-?[0-9]+$")
# `expires_after[seconds]`: a field of an object property, as the SDK writes nested form fields.
BRACKETED = re.compile(r"^([^\[\]]+)\[([^\[\]]+)\]$")


@dataclass(frozen=True)
class FormSchema:
    """A form's request schema: its `format: binary` properties are file parts; `max_file_bytes` bounds each
    file (the store's budget, 0 for none)."""

    schema: Mapping[str, Any]
    check: SchemaCheck
    max_file_bytes: int

    @property
    def file_fields(self) -> frozenset[str]:
        properties = self.schema.get("properties", {})
        return frozenset(name for name, sub in properties.items() if sub.get("format") == "binary")

    def typed(self, fields: Mapping[str, str], files: Mapping[str, int]) -> dict[str, Any]:
        """The form as its schema sees it: an integer field read as one, an object property from its bracketed
        fields or from one JSON part, and each file as a stand-in string exactly as empty as the file (what
        a `minLength` of the schema judges). Refuses an object given both ways."""
        properties = self.schema.get("properties", {})
        form: dict[str, Any] = {name: "x" if size else "" for name, size in files.items()}
        for name, raw in fields.items():
            nested = BRACKETED.match(name)
            if nested is None:
                form[name] = typed_value(properties.get(name, {}), raw)
                continue
            outer, inner = nested.groups()
            current = form.setdefault(outer, {})
            if not isinstance(current, dict):
                raise errors.repeated_parameter(outer)
            current[inner] = typed_value(properties.get(outer, {}).get("properties", {}).get(inner, {}), raw)
        return form

    def validated(self, fields: Mapping[str, str], files: Mapping[str, int]) -> dict[str, Any]:
        form = self.typed(fields, files)
        self.check.check(form)
        return form


def typed_value(schema: Mapping[str, Any], raw: str) -> Any:
    """A text field as the value its property's schema asks for; as the text itself when it is not one."""
    kinds = schema.get("type")
    if kinds == "integer" and INTEGER.match(raw):
        return int(raw)
    if kinds == "object":
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            return raw
    return raw
