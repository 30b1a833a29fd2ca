"""Run the SDK quick start of sdk/README.md, as written, against a `make run` server (BASE_URL),
the way a newcomer follows it: mint a token and open the transfer's target with manage.py, run the
block, then read back what it left. Run from the checkout's root with its .venv's Python."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path.cwd()
OWNER = "3946fb93-9f9a-4c79-b264-6592b8ab4c67"
TARGET = "c5333751-6d63-49b9-91af-37933f163f98"
SCOPES = "wallet:create wallet:read wallet:credit wallet:debit wallet:transfer"


def manage(*args: str) -> str:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    if result.returncode:
        sys.exit(f"manage.py {args[0]} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout.strip()


def shell_commands(readme: str) -> list[str]:
    """The README's `python manage.py shell -c "…"` command that opens the target wallet."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", readme, flags=re.S):
        joined = block.replace("\\\n", "")
        commands += re.findall(r'python manage\.py shell -c "(.*?)"', joined, flags=re.S)
    return commands


def main() -> None:
    readme = (ROOT / "sdk" / "README.md").read_text()
    quick_start = next(b for b in re.findall(r"```python\n(.*?)```", readme, flags=re.S) if "asyncio.run(demo())" in b)
    (opener,) = shell_commands(readme)
    manage("shell", "-c", opener)
    api_key = manage("issue_token", "--sub", OWNER, "--scope", SCOPES, "--ttl", "600").splitlines()[-1]
    base_url = os.environ["BASE_URL"]

    exec(compile(quick_start, "sdk/README.md", "exec"), {"BASE_URL": base_url, "API_KEY": api_key})  # noqa: S102

    from crowdpay_connect_sdk.wallet import WalletClient

    async def read_back():
        async with WalletClient(base_url=base_url, api_key=api_key) as client:
            wallets = await client.list_wallets()
            return [await client.get_wallet(w.id) for w in wallets]

    (pod,) = asyncio.run(read_back())
    balances = [(b.currency, b.posted, b.held, b.available) for b in pod.balances]
    if pod.kind != "POD" or balances != [("USD", 400_00, 0, 400_00)]:
        sys.exit(f"unexpected pod after the quick start: kind={pod.kind} balances={balances}")
    print(f"quick start ran: pod {pod.id} holds 400.00 USD")


if __name__ == "__main__":
    main()
