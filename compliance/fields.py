"""A model field whose value is encrypted at rest (see `compliance.crypto`).

Python sees plaintext; the column holds `pii1:<key_id>:<base64>`. Encryption happens only when a
value is saved (`get_db_prep_save`), never in lookups, so queries compare against the stored form:
`rotate_pii_keys` finds values under an old key with `field__startswith="pii1:<old id>:"`.
Nothing but equality-free lookups make sense on it: the same plaintext encrypts differently each time.
"""

from __future__ import annotations

from django.db import models

from . import crypto


class EncryptedTextField(models.TextField):
    def contribute_to_class(self, cls, name, *args, **kwargs):
        super().contribute_to_class(cls, name, *args, **kwargs)
        self.context = f"{cls._meta.label_lower}.{name}"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return crypto.decrypt(value, context=self.context)

    def get_db_prep_save(self, value, connection):
        if value is None or value == "":
            return value
        return crypto.encrypt(str(value), context=self.context)
