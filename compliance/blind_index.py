"""The blind index of personal data: find a profile by name or email without decrypting anything.

A value is normalised (Unicode NFKC, casefolded, stripped, inner whitespace collapsed) and hashed
with HMAC-SHA256 under a key derived from the current PII key (`compliance.crypto`), the kind of
token bound into the message so a name and an email never collide. Names give one token for the
whole name and one per word, so "ada" and "lovelace ada" both find "Ada Lovelace". The digests
live in `PiiSearchToken` rows, rewritten whenever a profile's name or email is saved (a post_save
receiver, so every writer — the services, `rotate_pii_keys`, the tests — keeps them in step);
`profile_tokens_rebuild` fills them for rows written without signals (bulk inserts, migrations).

What an attacker with the database gains: equal names hash equally (that is the point of the
index), but nothing can be inverted without the PII key, which never sits in the database.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable

from . import crypto

_LABEL = b"crowdpay blind index v1"
_SPACES = re.compile(r"\s+")
_WORD_SPLIT = re.compile(r"[\s,;]+")
MAX_WORDS = 8  # of a name, and of a query: enough for any real name, bounded for the lookup
# which model fields feed which kind of token (a save touching none of them leaves the tokens)
SOURCE_FIELDS = frozenset({"legal_name", "email"})


def normalise(value: str) -> str:
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", value).casefold()).strip()


def words(value: str) -> list[str]:
    return [w for w in _WORD_SPLIT.split(normalise(value)) if w][:MAX_WORDS]


def _key(ring: crypto.KeyRing) -> tuple[str, bytes]:
    return ring.current_id, hmac.new(ring.keys[ring.current_id], _LABEL, hashlib.sha256).digest()


def digest(kind: str, value: str, *, ring: crypto.KeyRing | None = None) -> str:
    """The token of one normalised value of one kind (the caller normalises)."""
    _, key = _key(ring or crypto.key_ring())
    return hmac.new(key, kind.encode() + b"\x00" + value.encode(), hashlib.sha256).hexdigest()


def tokens_for(*, legal_name: str, email: str, ring: crypto.KeyRing | None = None) -> list[tuple[str, str]]:
    """(kind, digest) of every token of a profile's name and email, without duplicates."""
    from .models import PiiSearchToken

    ring = ring or crypto.key_ring()
    wanted: list[tuple[str, str]] = []
    name = normalise(legal_name or "")
    if name:
        wanted.append((PiiSearchToken.Kind.NAME, name))
        wanted += [(PiiSearchToken.Kind.NAME_WORD, w) for w in words(name)]
    mail = normalise(email or "")
    if mail:
        wanted.append((PiiSearchToken.Kind.EMAIL, mail))
    return list(dict.fromkeys((kind, digest(kind, value, ring=ring)) for kind, value in wanted))


def profile_tokens_write(profile, *, model=None, ring: crypto.KeyRing | None = None) -> None:
    """Replace the profile's tokens (in the caller's transaction). `model` is the token model:
    a migration passes its historical one."""
    if model is None:
        from .models import PiiSearchToken as model
    ring = ring or crypto.key_ring()
    model.objects.filter(profile_id=profile.pk).delete()
    model.objects.bulk_create(
        model(profile_id=profile.pk, kind=kind, key_id=ring.current_id, digest=value)
        for kind, value in tokens_for(legal_name=profile.legal_name, email=profile.email, ring=ring)
    )


def profile_tokens_rebuild(profiles: Iterable) -> int:
    """Rewrite the tokens of many profiles (after a bulk insert); returns how many profiles."""
    done = 0
    for profile in profiles:
        profile_tokens_write(profile)
        done += 1
    return done


def on_profile_saved(sender, instance, update_fields=None, raw=False, **kwargs) -> None:
    if raw:  # loaddata: the fixture's rows, not a write of ours
        return
    if update_fields is not None and not SOURCE_FIELDS & set(update_fields):
        return  # a status change: the name and email did not move
    profile_tokens_write(instance)


def owner_ids_matching(term: str):
    """The owner ids (a lazy queryset) whose profile matches `term`: an email (exact, normalised) if
    it holds an @, else a name whose words include every word of the term."""
    from django.db.models import Count

    from .models import KycProfile, PiiSearchToken

    if "@" in term:
        digests = PiiSearchToken.objects.filter(
            kind=PiiSearchToken.Kind.EMAIL, digest=digest(PiiSearchToken.Kind.EMAIL, normalise(term))
        )
        return KycProfile.objects.filter(pk__in=digests.values("profile_id")).values_list("owner_id", flat=True)
    wanted = list(dict.fromkeys(words(term)))
    if not wanted:
        return KycProfile.objects.none().values_list("owner_id", flat=True)
    profiles = (
        PiiSearchToken.objects.filter(
            kind=PiiSearchToken.Kind.NAME_WORD,
            digest__in=[digest(PiiSearchToken.Kind.NAME_WORD, w) for w in wanted],
        )
        .values("profile_id")
        .annotate(n=Count("digest", distinct=True))
        .filter(n=len(wanted))
        .values("profile_id")
    )
    return KycProfile.objects.filter(pk__in=profiles).values_list("owner_id", flat=True)
