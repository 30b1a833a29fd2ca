"""Strict input: a request body or query string that names a field the endpoint does not know is
refused (400 `unknown_field`) before anything runs, so a typo (`kindd`) never falls back to a
default and writes something the caller did not ask for.

Three places enforce it, so a new endpoint gets it without asking:

- `InputSerializer`, the base of every input serializer (nested ones included);
- `validated()`, the one helper views validate with, which refuses unknown top-level names for
  any serializer it is given, strict base or not;
- `refuse_query()`, which the Idempotency-Key decorator runs on every write: a write takes its
  input in its body, so any query parameter on it is unknown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, ValidationError

UNKNOWN_FIELD = "unknown_field"


def unknown_fields(data, known: Iterable[str]) -> list[str]:
    """The names in `data` (a JSON object or a QueryDict) that are not in `known`, sorted."""
    if not isinstance(data, Mapping):
        return []  # not an object: the serializer refuses it on its own terms
    known = set(known)
    return sorted(str(name) for name in data if name not in known)


def unknown_field_error(names: list[str], known: Iterable[str], *, where: str = "field") -> ValidationError:
    expected = ", ".join(sorted(known)) or "none"
    message = f"unknown {where}; this endpoint takes: {expected}"
    return ValidationError({name: [ErrorDetail(message, code=UNKNOWN_FIELD)] for name in names})


def refuse_unknown(data, known: Iterable[str], *, where: str = "field") -> None:
    known = list(known)
    names = unknown_fields(data, known)
    if names:
        raise unknown_field_error(names, known, where=where)


def _writable(serializer: serializers.Serializer) -> list[str]:
    return [name for name, field in serializer.fields.items() if not field.read_only]


# Base of every request-body and query-string serializer: unknown names are refused (only they are
# reported, so the caller fixes the typo first). No docstring: drf-spectacular would describe every
# request schema with it.
class InputSerializer(serializers.Serializer):
    def to_internal_value(self, data):
        refuse_unknown(data, _writable(self))
        return super().to_internal_value(data)


def validated(serializer_class: type[serializers.Serializer], data) -> dict:
    """`data` validated by `serializer_class`; a 400 problem (`unknown_field`, `validation_error` …)
    otherwise. Unknown top-level names are refused whatever the serializer's base."""
    serializer = serializer_class(data=data)
    refuse_unknown(data, _writable(serializer))
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def refuse_query(request, known: Iterable[str] = ()) -> None:
    """Refuse query parameters other than `known` (a write takes none)."""
    refuse_unknown(request.query_params, known, where="query parameter")
