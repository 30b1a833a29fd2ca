"""No card data, ever: a card number (13 to 19 digits, spaces or dashes allowed between them,
Luhn-valid) anywhere in a request under /v1 (path, query string, any string or key of the JSON body
at any depth, an integer that is not an amount, or the raw text of a body that is not JSON) is
refused with 422 `card_data_not_allowed` before anything else runs: no view, no Idempotency-Key
record, no saga, nothing in the database. The problem names where the number was, never the number.

`CardDataMiddleware` does it once for every endpoint, present and future. `mask_card_numbers` is the
log backstop (`crowdpay.logging.redact_text`): a card number that reaches a log line any other way
(a path in Django's "Unprocessable Content: …" line, an exception message) is masked there.

Canonical UUIDs are skipped (five dash-separated hex groups: a wallet id made only of digits must not
read as a card number). Pure Python, no Django at import time: the logging configuration imports it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

CODE = "card_data_not_allowed"
MASK = "[CARD NUMBER REDACTED]"
API_PREFIX = "/v1/"

_UUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
# Digits with at most one space or dash between two of them, as a card number is written, standing
# on their own: not glued to a letter or a digit on either side. A run inside a longer token (the hex
# of `ch_test_ok_9f86d08…`, an order id `INV4111111111111111X`) is an identifier, not a card number
# someone typed; without the bounds about one random 32-digit hex in 250 would be refused.
_RUN = re.compile(r"(?<![0-9A-Za-z])\d(?:[ -]?\d)*(?![0-9A-Za-z])")
_SEPARATOR = re.compile(r"[ -]")


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _run_holds_card(run: str) -> bool:
    """Whether some consecutive groups of a digit run (split at its separators) make a card number."""
    groups = _SEPARATOR.split(run)
    for start in range(len(groups)):
        digits = ""
        for group in groups[start:]:
            digits += group
            if len(digits) > 19:
                break
            if len(digits) >= 13 and luhn_valid(digits):
                return True
    return False


def _segments(text: str) -> Iterator[tuple[int, int]]:
    """The (start, end) spans of `text` outside canonical UUIDs."""
    position = 0
    for match in _UUID.finditer(text):
        yield position, match.start()
        position = match.end()
    yield position, len(text)


def has_card_number(text: str) -> bool:
    for start, end in _segments(text):
        if any(_run_holds_card(m.group()) for m in _RUN.finditer(text, start, end)):
            return True
    return False


def mask_card_numbers(text: str) -> str:
    """`text` with every digit run that holds a card number replaced by MASK (UUIDs kept)."""
    if not any(c.isdigit() for c in text):
        return text
    parts = []
    for start, end in _segments(text):
        parts.append(_RUN.sub(lambda m: MASK if _run_holds_card(m.group()) else m.group(), text[start:end]))
    pieces = []
    uuids = [m.group() for m in _UUID.finditer(text)]
    for index, part in enumerate(parts):
        pieces.append(part)
        if index < len(uuids):
            pieces.append(uuids[index])
    return "".join(pieces)


def _is_amount(key: str | None) -> bool:
    return key is not None and key.lower().endswith("amount")


def find_card_number(document, where: str = "") -> str | None:
    """Where in a parsed JSON document a card number is (`metadata.notes[2]`), or None. Keys count
    (a key holding one is reported as its parent's key); integers count unless they are amounts."""
    stack: list[tuple[object, str, str | None]] = [(document, where, None)]
    while stack:
        value, path, key = stack.pop()
        if isinstance(value, str):
            if has_card_number(value):
                return path or "body"
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int):
            if not _is_amount(key) and has_card_number(str(value)):
                return path or "body"
        elif isinstance(value, dict):
            for name, item in value.items():
                name = str(name)
                if has_card_number(name):
                    return f"{path} (a field name)" if path else "a field name"
                stack.append((item, f"{path}.{name}" if path else name, name))
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{index}]", key) for index, item in enumerate(value))
    return None


def find_in_request(request) -> str | None:
    """Where a Django request under /v1 carries a card number, or None."""
    if has_card_number(request.path):
        return "the path"
    for name, values in request.GET.lists():
        if has_card_number(name) or any(has_card_number(v) for v in values):
            return "the query string"
    try:
        body = request.body
    except Exception:  # too large (the view answers 413) or unreadable: nothing was kept of it
        return None
    if not body:
        return None
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return "body" if has_card_number(body.decode("utf-8", errors="replace")) else None
    try:
        return find_card_number(document)
    except RecursionError:  # pragma: no cover - the stack is explicit; kept for safety
        return None


class CardDataMiddleware:
    """Refuse, under /v1, a request that carries a card number: before the view, so the
    Idempotency-Key store, the services and the database never see it."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(API_PREFIX):
            where = find_in_request(request)
            if where is not None:
                return refusal(where)
        return self.get_response(request)


def refusal(where: str):
    from django.http import JsonResponse

    from crowdpay.api.problems import CONTENT_TYPE, problem

    detail = (
        f"a card number was found in {where}: card data is never accepted, stored or logged; send the "
        "payment provider's charge token (e.g. ch_…) instead"
    )
    body = problem(422, CODE, detail, field=where)
    return JsonResponse(body, status=422, content_type=CONTENT_TYPE)
