""".env.example lists every variable the settings read, and copying it to .env changes no setting.

The settings are parsed, not imported, so a variable read only on one branch (production, a
PostgreSQL `DATABASE_URL`) is found too: adding `env.int("NEW_THING", …)` without documenting it
in .env.example fails here.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = sorted((ROOT / "crowdpay" / "settings").glob("*.py"))
EXAMPLE = ROOT / ".env.example"

# env("NAME" …), env.str("NAME" …), env.int(…), env.db(…), env.list(…), and os.environ reads, in
# single or double quotes, possibly with the name on the next line.
_READS = re.compile(
    r"""(?:\benv(?:\.[a-z_]+)?|os\.environ\.get|os\.getenv|os\.environ\.setdefault)\(\s*["']([A-Z][A-Z0-9_]*)["']"""
)
_LISTED = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$")
# Not a setting of the service: which settings module to load is the caller's choice.
_NOT_SETTINGS = {"DJANGO_SETTINGS_MODULE"}


def names_read_by_settings() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in SETTINGS:
        for name in _READS.findall(path.read_text()):
            found.setdefault(name, path.name)
    return {name: where for name, where in found.items() if name not in _NOT_SETTINGS}


def example_lines() -> list[str]:
    return EXAMPLE.read_text().splitlines()


def listed() -> dict[str, tuple[bool, str]]:
    """NAME -> (active, value) for every `NAME=value` or `# NAME=value` line."""
    entries: dict[str, tuple[bool, str]] = {}
    for line in example_lines():
        match = _LISTED.match(line.strip())
        if match:
            entries[match.group(1)] = (not line.lstrip().startswith("#"), match.group(2))
    return entries


def test_the_parser_sees_the_settings_reads():
    names = names_read_by_settings()
    # a few that must be there, in each style of call and each settings module
    for name in ("SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS", "GATEWAY_TIMEOUT_SECONDS", "SAGA_SWEEP_SECONDS"):
        assert names.get(name) == "base.py", name
    assert names["CSRF_TRUSTED_ORIGINS"] == "deploy.py"
    assert _READS.findall('x = env.float(\n    "SAGA_X_SECONDS", default=1)') == ["SAGA_X_SECONDS"]


def test_every_variable_the_settings_read_is_in_env_example():
    missing = sorted(f"{name} ({where})" for name, where in names_read_by_settings().items() if name not in listed())
    assert not missing, f"add these to .env.example, with their default and a one-line comment: {missing}"


def test_each_entry_has_a_one_line_comment_above_it_and_appears_once():
    lines = example_lines()
    seen: set[str] = set()
    for index, line in enumerate(lines):
        match = _LISTED.match(line.strip())
        if not match:
            continue
        name = match.group(1)
        assert name not in seen, f"{name} is listed twice"
        seen.add(name)
        above = lines[index - 1].strip() if index else ""
        assert above.startswith("#") and not _LISTED.match(above), f"{name} has no comment line above it"
        assert len(above) > 10, f"{name}: say what it is for"


def _settings_dump(environ: dict[str, str]) -> dict[str, str]:
    probe = (
        "import json, django; from django.conf import settings; django.setup();"
        "print(json.dumps({k: repr(getattr(settings, k)) for k in dir(settings) if k.isupper()}))"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe], env=environ, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_copying_env_example_to_env_changes_no_setting(tmp_path):
    """Every active line repeats the default: the settings are the same with or without them."""
    if (ROOT / ".env").exists():
        pytest.skip("a local .env would be read by both runs and mask the comparison")
    base = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "crowdpay.settings.base",
    }
    active = {name: value for name, (is_active, value) in listed().items() if is_active}
    assert len(active) > 20
    without, with_example = _settings_dump(base), _settings_dump({**base, **active})
    changed = {k: (without[k], with_example.get(k)) for k in without if without[k] != with_example.get(k)}
    assert not changed, f"these .env.example values differ from the defaults: {changed}"
