"""The README's walk-throughs cannot drift silently.

Two ```bash blocks: the one right after `<!-- walkthrough:` (onboarding to a payout) and the one right
after `<!-- walkthrough-pod:` (a trip pod), which runs after the first in the same shell and reuses
its helpers. CI runs both, in one shell, against a `make run` server on a fresh clone
(`.ci/fresh-clone-smoke`); this cheap check runs with the suite: each block is there once, the two
together are valid bash, each goes the whole way (onboarding, funding, transfer, withdrawal, payout;
members, goal, pledges, contributions, policy, approved outflow, dissolution), names only endpoints
that the URLconf routes for the verb it uses and only `manage.py` commands and scopes that exist,
and sends every POST with an Idempotency-Key. The smoke's awk extraction is checked to give the same
blocks.
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
MAIN, POD = "<!-- walkthrough:", "<!-- walkthrough-pod:"  # each at the start of its line

# `call VERB PATH`, the path quoted or not (unquoted, it ends at a space or at the `)` of `$(call …)`)
_CALL = re.compile(r"\bcall\s+(GET|POST|PUT|PATCH|DELETE)\s+(\"[^\"]+\"|'[^']+'|[^\s)]+)")
_VAR = re.compile(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?")
_MANAGE = re.compile(r"manage\.py\s+([a-z_]+)")
_SCOPE = re.compile(r'--scope\s+"([^"]+)"')
_HELPERS = ("newkey", "call", "field", "expect")  # defined by the main block, reused by the pod's


def block(marker: str) -> str:
    """The ```bash block right after the line that starts with `marker`, which must be there once."""
    text = README.read_text()
    starts = [line for line in text.splitlines() if line.startswith(marker)]
    assert len(starts) == 1, f"README.md must hold exactly one line starting with `{marker}`"
    found = re.findall(rf"^{re.escape(marker)}[^\n]*\n```bash\n(.*?)^```$", text, flags=re.M | re.S)
    assert len(found) == 1, f"the `{marker}` marker must be followed at once by a ```bash block"
    return found[0]


def walkthrough() -> str:
    return block(MAIN)


def pod_walkthrough() -> str:
    return block(POD)


def endpoints(text: str) -> list[tuple[str, str]]:
    """(verb, path) of every `call VERB PATH` in the block, variables replaced by a UUID, no query."""
    found = []
    for verb, raw in _CALL.findall(text):
        path = _VAR.sub(str(uuid.uuid4()), raw.strip("\"'")).split("?", 1)[0]
        found.append((verb, path))
    return found


def called(text: str) -> set[tuple[str, str]]:
    return {(verb, _VAR.sub("{id}", raw.strip("\"'")).split("?")[0]) for verb, raw in _CALL.findall(text)}


BLOCKS = pytest.mark.parametrize("text", [walkthrough, pod_walkthrough], ids=["main", "pod"])


def test_the_blocks_are_there_once_and_valid_bash_in_one_shell(tmp_path):
    script = tmp_path / "walkthrough.sh"
    script.write_text(walkthrough() + pod_walkthrough())  # as the smoke runs them
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "BASE=${BASE:-" in walkthrough(), "CI points the block at its server through BASE"


@pytest.mark.skipif(shutil.which("awk") is None, reason="awk is not installed")
def test_the_smoke_extracts_the_same_blocks_as_this_test():
    smoke = SMOKE.read_text()
    program = re.search(r"awk -v marker=\"\$1\" '(.*?)' README\.md", smoke, flags=re.S)
    assert program, ".ci/fresh-clone-smoke must extract the walk-throughs from README.md with awk"
    for marker, expected in ((MAIN, walkthrough()), (POD, pod_walkthrough())):
        assert f"'{marker}'" in smoke, f"the smoke does not extract the `{marker}` block"
        result = subprocess.run(
            ["awk", "-v", f"marker={marker}", program.group(1), str(README)],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        assert result.stdout == expected
    assert smoke.index(f"'{MAIN}'") < smoke.index(f"'{POD}'"), "the pod block runs after the main one"
    assert 'bash -euo pipefail "$work/walkthrough.sh"' in smoke


def test_the_walkthrough_goes_the_whole_way():
    steps = called(walkthrough())
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
        assert step in steps, f"the walk-through no longer calls {step[0]} {step[1]}"
    text = walkthrough()
    assert "ch_test_ok_" in text, "funding uses the sandbox's captured test charge"
    assert "manage.py payout_settle" in text, "the payout is settled as finance staff would"
    assert text.count("expect ") >= 10, "every step checks what it got"


def test_the_pod_walkthrough_goes_the_whole_way():
    steps = called(pod_walkthrough())
    for step in [
        ("POST", "/v1/wallets"),
        ("POST", "/v1/wallets/{id}/credit"),
        ("GET", "/v1/pods/{id}"),
        ("POST", "/v1/pods/{id}/members"),
        ("POST", "/v1/pods/{id}/members/{id}/accept"),
        ("POST", "/v1/pods/{id}/goals"),
        ("POST", "/v1/pods/{id}/pledges"),
        ("GET", "/v1/pods/{id}/goals"),
        ("GET", "/v1/pods/{id}/contributions"),
        ("POST", "/v1/pods/{id}/policy"),
        ("POST", "/v1/pods/{id}/outflows"),
        ("POST", "/v1/pods/{id}/outflows/{id}/approve"),
        ("POST", "/v1/pods/{id}/dissolve"),
        ("GET", "/v1/wallets/{id}"),
    ]:
        assert step in steps, f"the pod walk-through no longer calls {step[0]} {step[1]}"
    text = pod_walkthrough()
    assert '"kind": "POD"' in text, "the pod is a POD wallet"
    assert "ch_test_ok_" in text, "the members' wallets are funded by the sandbox's test charge"
    for outcome in ("REACHED 30000", "200 PENDING", "200 EXECUTED", "200 5000 5000", "CLOSED 0"):
        assert f'"{outcome}"' in text, f"the pod walk-through no longer expects {outcome!r}"
    assert text.count("expect ") >= 20, "every step checks what it got"


def test_the_pod_walkthrough_reuses_the_main_helpers_and_needs_no_extra_tools():
    text = pod_walkthrough()
    for helper in _HELPERS:
        assert re.search(rf"^{helper}\(\)", walkthrough(), flags=re.M), f"the main block defines {helper}()"
        assert not re.search(rf"^\s*{helper}\(\)", text, flags=re.M), f"the pod block defines {helper}() again"
    for tool in ("uuidgen", "jq", "date -"):
        assert not re.search(rf"(^|[\s$(|]){re.escape(tool)}", text, flags=re.M), f"the pod block needs {tool}"
    assert "..." not in text, "no placeholders: the block runs as it is"


@BLOCKS
def test_every_endpoint_it_calls_is_routed_for_its_verb(text):
    found = endpoints(text())
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


@BLOCKS
def test_every_post_carries_an_idempotency_key(text):
    source = text()
    starts = [m.start() for m in re.finditer(r"\bcall\s+", source)]
    posts = [m.start() for m in re.finditer(r"\bcall\s+POST\b", source)]
    assert posts
    for start in posts:
        following = [s for s in starts if s > start]
        segment = source[start : following[0] if following else len(source)]
        assert '-H "Idempotency-Key: ' in segment, f"a POST without an Idempotency-Key: {segment[:80]!r}"


@BLOCKS
def test_every_command_and_scope_it_names_exists(text):
    source = text()
    commands = set(_MANAGE.findall(source))
    assert "issue_token" in commands, "tokens are minted with `manage.py issue_token`"
    assert commands <= set(get_commands()), f"unknown manage.py commands: {commands - set(get_commands())}"
    scopes = _SCOPE.findall(source)
    assert scopes, "every token is minted with explicit scopes"
    for named in scopes:
        assert set(named.split()) <= set(SCOPES), f"unknown scopes: {set(named.split()) - set(SCOPES)}"


def test_the_tokens_carry_the_scopes_each_walk_needs():
    assert "payout_settle" in _MANAGE.findall(walkthrough()), "the payout is settled with `manage.py payout_settle`"
    main = set(_SCOPE.findall(walkthrough())[0].split())
    assert {"kyc:write", "kyc:read", "wallet:credit", "wallet:debit", "wallet:transfer"} <= main
    pod = set().union(*(set(named.split()) for named in _SCOPE.findall(pod_walkthrough())))
    assert {"pod:read", "pod:write", "wallet:create", "wallet:read", "wallet:credit"} <= pod
