"""The development key pair for tokens."""

import io

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from crowdpay import keys


def test_dev_keys_written_once_and_read_back(tmp_path, settings):
    settings.JWT_KEY_DIR = tmp_path / "keys"
    settings.JWT_PUBLIC_KEY = settings.JWT_PRIVATE_KEY = ""
    with pytest.raises(ImproperlyConfigured):
        keys.public_key()
    with pytest.raises(ImproperlyConfigured):
        keys.private_key()
    out = io.StringIO()
    call_command("dev_keys", stdout=out)
    assert "wrote a development key pair" in out.getvalue()
    assert keys.public_key().startswith("-----BEGIN PUBLIC KEY-----")
    assert keys.private_key().startswith("-----BEGIN PRIVATE KEY-----")
    assert (tmp_path / "keys" / keys.PRIVATE_FILE).stat().st_mode & 0o777 == 0o600
    call_command("dev_keys", stdout=out)
    assert "present" in out.getvalue()


def test_environment_key_wins_and_escaped_newlines_are_accepted(tmp_path, settings):
    settings.JWT_KEY_DIR = tmp_path
    settings.JWT_PUBLIC_KEY = "-----BEGIN PUBLIC KEY-----\\nabc\\n-----END PUBLIC KEY-----"
    assert keys.public_key() == "-----BEGIN PUBLIC KEY-----\nabc\n-----END PUBLIC KEY-----\n"
