"""The README's walk-through (the ```bash block right after `<!-- walkthrough`) cannot drift silently.

CI runs that block against a `make run` server on a fresh clone (`.ci/fresh-clone-smoke`); this cheap
check runs with the suite: the block is there once, is valid bash, goes the whole way (onboarding,
funding, transfer, withdrawal, payout), names only endpoints that the URLconf routes for the verb it
uses and only `manage.py` commands and scopes that exist, and sends every POST with an
Idempotency-Key. The smoke's awk extraction is checked to give the same block.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from django.core.management import get_commands
from django.urls import Resolver404, resolve

from crowdpay.api.permissions import SCOPES

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SMOKE = ROOT / ".ci" / "fresh-clone-smoke"
MARKER = "<!-- walkthrough"

_BLOCK = re.compile(r"^<!-- walkthrough[^\n]*\n```bash\n(.*?)^```$", re.M | re.S)
_CALL = re.compile(r"\bcall\s+(GET|POST|PUT|PATCH|DELETE)\s+(\"[^\"]+\"|'[^']+'|\S+)")
_VAR = re.compile(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?")
_MANAGE = re.compile(r"manage\.py\s+([a-z_]+)")


def walkthrough() -> str:
    text = README.read_text()
    assert text.count(MARKER) == 1, "README.md must hold exactly one `<!-- walkthrough` marker"
    blocks = _BLOCK.findall(text)
    assert len(blocks) == 1, "the `<!-- walkthrough` marker must be followed at once by a ```bash block"
    return blocks[0]


def endpoints(block: str) -> list[tuple[str, str]]:
    """(verb, path) of every `call VERB PATH` in the block, variables replaced by a UUID, no query."""
    found = []
    for verb, raw in _CALL.findall(block):
        path = _VAR.sub(str(uuid.uuid4()), raw.strip("\"'")).split("?", 1)[0]
        found.append((verb, path))
    return found


def test_the_walkthrough_block_is_there_once_and_is_valid_bash(tmp_path):
    block = walkthrough()
    script = tmp_path / "walkthrough.sh"
    script.write_text(block)
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "BASE=${BASE:-" in block, "CI points the block at its server through BASE"


@pytest.mark.skipif(shutil.which("awk") is None, reason="awk is not installed")
def test_the_smoke_extracts_the_same_block_as_this_test():
    smoke = SMOKE.read_text()
    program = re.search(r"awk '(.*?)' README\.md", smoke, flags=re.S)
    assert program, ".ci/fresh-clone-smoke must extract the walk-through from README.md with awk"
    result = subprocess.run(
        ["awk", program.group(1), str(README)], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert result.stdout == walkthrough()
    assert 'bash -euo pipefail "$work/walkthrough.sh"' in smoke


def test_the_walkthrough_goes_the_whole_way():
    called = {(verb, _VAR.sub("{id}", raw.strip("\"'")).split("?")[0]) for verb, raw in _CALL.findall(walkthrough())}
    for step in [
        ("POST", "/v1/kyc/person"),
        ("GET", "/v1/kyc"),
        ("POST", "/v1/wallets"),
        ("POST", "/v1/wallets/{id}/credit"),
        ("GET", "/v1/operations/{id}"),
        ("POST", "/v1/transfer"),
        ("POST", "/v1/wallets/{id}/debit"),
        ("GET", "/v1/wallets/{id}"),
    ]:
        assert step in called, f"the walk-through no longer calls {step[0]} {step[1]}"
    block = walkthrough()
    assert "ch_test_ok_" in block, "funding uses the sandbox's captured test charge"
    assert "manage.py payout_settle" in block, "the payout is settled as finance staff would"
    assert block.count("expect ") >= 10, "every step checks what it got"


def test_every_endpoint_it_calls_is_routed_for_its_verb():
    found = endpoints(walkthrough())
    assert found
    for verb, path in found:
        try:
            match = resolve(path)
        except Resolver404:
            pytest.fail(f"the walk-through calls {verb} {path}, which the URLconf does not route")
        actions = getattr(match.func, "actions", None)  # a ViewSet's routes: {verb: action}
        if actions is not None:
            assert verb.lower() in actions, f"{verb} {path} is not routed ({match.url_name})"
        else:
            view = getattr(match.func, "view_class", None) or match.func.cls  # type: ignore[attr-defined]
            assert hasattr(view, verb.lower()), f"{match.url_name} ({path}) does not answer {verb}"


def test_every_post_carries_an_idempotency_key():
    block = walkthrough()
    starts = [m.start() for m in re.finditer(r"\bcall\s+", block)]
    posts = [m.start() for m in re.finditer(r"\bcall\s+POST\b", block)]
    assert posts
    for start in posts:
        following = [s for s in starts if s > start]
        segment = block[start : following[0] if following else len(block)]
        assert '-H "Idempotency-Key: ' in segment, f"a POST without an Idempotency-Key: {segment[:80]!r}"


def test_every_command_and_scope_it_names_exists():
    block = walkthrough()
    commands = set(_MANAGE.findall(block))
    assert {"issue_token", "payout_settle"} <= commands
    assert commands <= set(get_commands()), f"unknown manage.py commands: {commands - set(get_commands())}"
    scopes = re.search(r'--scope\s+"([^"]+)"', block)
    assert scopes, "the token is minted with explicit scopes"
    assert set(scopes.group(1).split()) <= set(SCOPES)
    assert {"kyc:write", "kyc:read", "wallet:credit", "wallet:debit", "wallet:transfer"} <= set(scopes.group(1).split())
