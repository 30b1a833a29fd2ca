"""The checked-in low-level client is what the generator makes of the service's schema today."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SDK_DIR = Path(__file__).resolve().parents[1]


def load_generate():
    spec = importlib.util.spec_from_file_location("crowdpay_sdk_generate", SDK_DIR / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generate = load_generate()


def network_isolation_available() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "--net", "true"], capture_output=True, check=False).returncode == 0


def test_the_checked_in_client_matches_a_fresh_generation_from_the_schema(tmp_path):
    # Where the machine allows it (root), the generator runs without any network at all.
    fresh = generate.generate(tmp_path / "_generated", isolate_network=network_isolation_available())
    changed = generate.differences(fresh, generate.PACKAGE_DIR)
    assert changed == [], f"sdk/crowdpay_connect_sdk/_generated is stale, run `make sdk`: {changed}"
    assert (fresh / "api" / "wallets" / "credit_wallet.py").is_file()


def test_a_stale_client_is_caught(tmp_path):
    copy = tmp_path / "_generated"
    shutil.copytree(generate.PACKAGE_DIR, copy, ignore=shutil.ignore_patterns(*generate.IGNORED))
    assert generate.differences(copy, generate.PACKAGE_DIR) == []
    model = copy / "models" / "operation.py"
    model.write_text(model.read_text().replace("amount: int", "amount: float"))
    (copy / "api" / "wallets" / "close_wallet.py").write_text("")
    (copy / "types.py").unlink()
    assert generate.differences(copy, generate.PACKAGE_DIR) == [
        "api/wallets/close_wallet.py",
        "models/operation.py",
        "types.py",
    ]


def test_the_check_command_reports_a_match(capsys):
    assert generate.main(["--check"]) == 0
    assert "matches" in capsys.readouterr().out
