"""PII at rest: AES-256-GCM, a key id per value, rotation."""

import base64
import os
import uuid

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection

from compliance import crypto
from compliance.models import KycProfile
from compliance.tests.factories import profile

pytestmark = pytest.mark.django_db

PLAIN = ("Ada Lovelace", "1815-12-10", "X1234567", "12 St James's Square, London")


def key(key_id: str) -> str:
    return f"{key_id}:{base64.b64encode(os.urandom(32)).decode()}"


def raw_row(pk) -> tuple[str, ...]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT legal_name, date_of_birth, document_number, address FROM compliance_kycprofile WHERE id = %s",
            [pk],
        )
        return cursor.fetchone()


def test_raw_sql_shows_no_plaintext_and_every_value_names_its_key(settings):
    settings.PII_ENCRYPTION_KEYS = key("k1")
    made = profile(uuid.uuid4(), status=KycProfile.Status.PENDING)
    row = raw_row(made.pk)
    for stored, plain in zip(row, PLAIN, strict=True):
        # no word long enough to mean something (a 2-letter one turns up in random base64 by chance)
        assert plain not in stored and not [w for w in plain.split() if len(w) >= 5 and w in stored]
        assert stored.startswith("pii1:k1:")
    again = KycProfile.objects.get(pk=made.pk)
    assert (again.legal_name, again.date_of_birth, again.document_number, again.address) == PLAIN


def test_the_same_value_encrypts_differently_each_time():
    ring = crypto.parse_keys(key("a"))
    one, two = (crypto.encrypt("same", context="c", ring=ring) for _ in range(2))
    assert one != two
    assert crypto.decrypt(one, context="c", ring=ring) == crypto.decrypt(two, context="c", ring=ring) == "same"


def test_a_value_moved_to_another_column_or_tampered_with_does_not_decrypt():
    ring = crypto.parse_keys(key("a"))
    stored = crypto.encrypt("secret", context="compliance.kycprofile.legal_name", ring=ring)
    with pytest.raises(crypto.PiiDecryptionError):
        crypto.decrypt(stored, context="compliance.kycprofile.address", ring=ring)
    blob = bytearray(base64.b64decode(stored.split(":", 2)[2]))
    blob[-1] ^= 1
    tampered = f"pii1:a:{base64.b64encode(bytes(blob)).decode()}"
    with pytest.raises(crypto.PiiDecryptionError):
        crypto.decrypt(tampered, context="compliance.kycprofile.legal_name", ring=ring)
    with pytest.raises(crypto.PiiDecryptionError):
        crypto.decrypt("pii1:zz:" + stored.split(":", 2)[2], context="compliance.kycprofile.legal_name", ring=ring)
    with pytest.raises(crypto.PiiDecryptionError):
        crypto.decrypt("plaintext", context="x", ring=ring)


def test_values_still_decrypt_after_a_key_rotation(settings):
    old, new = key("k1"), key("k2")
    settings.PII_ENCRYPTION_KEYS = old
    made = [profile(uuid.uuid4(), status=KycProfile.Status.PENDING) for _ in range(3)]
    empty = KycProfile.objects.create(owner_id=uuid.uuid4())  # no personal data: nothing to rotate

    settings.PII_ENCRYPTION_KEYS = f"{old},{new}"
    assert KycProfile.objects.get(pk=made[0].pk).legal_name == PLAIN[0]  # old key still decrypts
    fresh = profile(uuid.uuid4(), status=KycProfile.Status.PENDING)
    assert raw_row(fresh.pk)[0].startswith("pii1:k2:")  # the last key encrypts
    out = []
    call_command("rotate_pii_keys", "--batch-size", "2", stdout=_Lines(out))
    assert "compliance.KycProfile: 3 row(s) re-encrypted under key 'k2'" in out[0]
    assert out[-1].startswith("0 row(s) still under an older key")
    for p in [*made, fresh]:
        assert all(value.startswith("pii1:k2:") for value in raw_row(p.pk))

    settings.PII_ENCRYPTION_KEYS = new  # the old key retired
    for p in made:
        again = KycProfile.objects.get(pk=p.pk)
        assert (again.legal_name, again.date_of_birth, again.document_number, again.address) == PLAIN
    assert KycProfile.objects.get(pk=empty.pk).legal_name == ""


def test_without_the_old_key_an_unrotated_value_is_refused(settings):
    settings.PII_ENCRYPTION_KEYS = key("k1")
    made = profile(uuid.uuid4(), status=KycProfile.Status.PENDING)
    settings.PII_ENCRYPTION_KEYS = key("k2")
    with pytest.raises(crypto.PiiDecryptionError):
        KycProfile.objects.get(pk=made.pk)


def test_development_key_is_derived_from_the_secret_key(settings):
    settings.PII_ENCRYPTION_KEYS = ""
    ring = crypto.key_ring()
    assert ring.current_id == crypto.DEV_KEY_ID and len(ring.keys[crypto.DEV_KEY_ID]) == 32
    settings.SECRET_KEY = "another-secret"
    assert crypto.key_ring().keys[crypto.DEV_KEY_ID] != ring.keys[crypto.DEV_KEY_ID]


@pytest.mark.parametrize(
    "spec",
    ["", "nocolon", "k1:not base64!", f"k1:{base64.b64encode(b'short').decode()}", ":" + key("x").split(":")[1]],
)
def test_bad_key_specs_are_refused(spec):
    with pytest.raises(ImproperlyConfigured):
        crypto.parse_keys(spec)


def test_mask_keeps_only_the_shape():
    assert crypto.mask("Ada Lovelace") == "A••••••••••e"
    assert crypto.mask("Al") == "••"
    assert crypto.mask("") == ""


class _Lines:
    def __init__(self, into: list[str]) -> None:
        self.into = into

    def write(self, text: str) -> None:
        self.into.append(text)

    def flush(self) -> None:
        pass
