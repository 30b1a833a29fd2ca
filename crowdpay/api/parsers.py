"""The API's JSON parser: DRF's (strict: no NaN or Infinity), plus two refusals that would
otherwise surface as a 500 deep inside the service: a document nested deeper than the decoder's
recursion limit, and a NUL character in any string (PostgreSQL cannot store one in text or jsonb)."""

from __future__ import annotations

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


def contains_nul(document) -> bool:
    """Whether any string (key or value) anywhere in a parsed JSON document holds U+0000."""
    stack = [document]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return True
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False


class StrictJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            document = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the document is nested too deeply") from None
        if contains_nul(document):
            raise ParseError("JSON strings must not contain NUL (\\u0000) characters")
        return document
