"""Compliance writes. The review case model and officer actions arrive with the compliance
back-office; until then a soft-declined saga simply waits in IN_REVIEW."""

from __future__ import annotations

import uuid


def review_case_open(*, saga_id: uuid.UUID, wallet_id: uuid.UUID, code: str | None, reasons: tuple[str, ...]) -> None:
    """Open a review case for a soft-declined saga (no case table yet: the saga's IN_REVIEW state is
    the record)."""
    return None
