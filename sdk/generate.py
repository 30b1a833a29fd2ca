"""Regenerate the SDK's low-level client, `crowdpay_connect_sdk/_generated`, from the service's
OpenAPI schema.

    python sdk/generate.py           # rewrite the checked-in package (what `make sdk` runs)
    python sdk/generate.py --check   # exit 1, naming the files, when it differs from a fresh generation

Everything runs offline: `manage.py spectacular` renders the schema from the code, and
openapi-python-client (pinned in requirements/dev.txt) fills in the templates it ships. Its
post-hooks run ruff with `--isolated`, so the output does not depend on where it is written.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SDK_DIR = Path(__file__).resolve().parent
ROOT = SDK_DIR.parent
PACKAGE_DIR = SDK_DIR / "crowdpay_connect_sdk" / "_generated"
CONFIG = SDK_DIR / "openapi-python-client.yaml"
IGNORED = ("__pycache__", ".ruff_cache")


def _env() -> dict[str, str]:
    # The generator's post-hooks call `ruff`: take the one installed beside this interpreter.
    bindir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": os.pathsep.join([bindir, os.environ.get("PATH", "")])}


def _run(command: list[str], **kwargs) -> None:
    result = subprocess.run(command, capture_output=True, text=True, env=_env(), check=False, **kwargs)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")


def schema(destination: Path) -> Path:
    """The service's OpenAPI schema, as `/api/schema/` serves it, written to `destination`."""
    _run([sys.executable, "manage.py", "spectacular", "--file", str(destination)], cwd=ROOT)
    return destination


def render(schema_file: Path, output: Path, *, isolate_network: bool = False) -> Path:
    """Run openapi-python-client on `schema_file` into `output` (a new directory). With
    `isolate_network`, in a network namespace of its own (`unshare --net`, root only), which
    proves the generator needs no network."""
    command = [
        sys.executable, "-m", "openapi_python_client", "generate",
        "--path", str(schema_file), "--config", str(CONFIG), "--meta", "none", "--output-path", str(output),
    ]  # fmt: skip
    if isolate_network:
        command = ["unshare", "--net", *command]
    _run(command, cwd=output.parent)
    return output


def differences(left: Path, right: Path) -> list[str]:
    """Relative paths of the files that differ, or exist on one side only (caches ignored)."""
    found: list[str] = []

    def walk(cmp: filecmp.dircmp, prefix: str) -> None:
        found.extend(f"{prefix}{name}" for name in cmp.left_only + cmp.right_only + cmp.funny_files)
        _, mismatch, errors = filecmp.cmpfiles(cmp.left, cmp.right, cmp.common_files, shallow=False)
        found.extend(f"{prefix}{name}" for name in mismatch + errors)
        for name, sub in cmp.subdirs.items():
            walk(sub, f"{prefix}{name}/")

    walk(filecmp.dircmp(left, right, ignore=list(IGNORED)), "")
    return sorted(found)


def generate(output: Path, *, isolate_network: bool = False) -> Path:
    """A fresh generation of the low-level package into `output` (which must not exist yet)."""
    with tempfile.TemporaryDirectory(prefix="crowdpay-sdk-schema-") as tmp:
        schema_file = schema(Path(tmp) / "openapi.yaml")
        render(schema_file, output, isolate_network=isolate_network)
    shutil.rmtree(output / ".ruff_cache", ignore_errors=True)
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare with a fresh generation")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="crowdpay-sdk-") as tmp:
        fresh = generate(Path(tmp) / "_generated")
        if args.check:
            changed = differences(fresh, PACKAGE_DIR)
            if changed:
                print("the generated client is stale (run `make sdk`):", *changed, sep="\n  ")
                return 1
            print("the generated client matches the schema")
            return 0
        shutil.rmtree(PACKAGE_DIR, ignore_errors=True)
        shutil.copytree(fresh, PACKAGE_DIR, ignore=shutil.ignore_patterns(*IGNORED))
    print(f"regenerated {PACKAGE_DIR.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
