"""Read-your-writes across the service's read replicas.

After a request that wrote, the service answers `CrowdPay-Read-After: <LSN>`: the position in the
primary database's write-ahead log at or after that write. A request carrying the header is read
from a replica only once the replica has replayed that far (else from the primary), so a client
that echoes the highest value it has seen never reads state older than its own writes.

`ReadAfter` does that for one client: its httpx event hooks remember the highest LSN of every
response and put it on every later request. `WalletClient` installs it on both the async client it
uses and the sync one the generated low-level API builds from the same arguments.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Generator
from typing import Any

import httpx

READ_AFTER_HEADER = "CrowdPay-Read-After"
_LSN = re.compile(r"^([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})$")


def lsn_position(text: str) -> int | None:
    """'16/B374D848' -> a comparable 64-bit position; None when it is not an LSN."""
    match = _LSN.match(text.strip())
    return (int(match.group(1), 16) << 32) | int(match.group(2), 16) if match else None


class _Done:
    """What a hook returns: awaitable (httpx.AsyncClient awaits its hooks) and harmless to drop
    (httpx.Client calls them and ignores the result), so one hook serves both."""

    def __await__(self) -> Generator[Any, None, None]:
        return iter(())


class ReadAfter:
    """The highest `CrowdPay-Read-After` this client has been sent; thread- and task-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._position = -1
        self._text: str | None = None

    @property
    def value(self) -> str | None:
        return self._text

    def observe(self, text: str | None) -> None:
        position = lsn_position(text) if text else None
        if position is None:
            return
        with self._lock:
            if position > self._position:
                self._position, self._text = position, text.strip() if text else None

    def on_request(self, request: httpx.Request) -> _Done:
        if self._text and READ_AFTER_HEADER not in request.headers:
            request.headers[READ_AFTER_HEADER] = self._text
        return _Done()

    def on_response(self, response: httpx.Response) -> _Done:
        self.observe(response.headers.get(READ_AFTER_HEADER))
        return _Done()

    def install(self, httpx_args: dict[str, Any]) -> dict[str, Any]:
        """`httpx_args` with this tracker's hooks added before any the caller gave."""
        hooks: dict[str, list[Callable[..., Any]]] = {
            kind: list(found) for kind, found in (httpx_args.get("event_hooks") or {}).items()
        }
        hooks["request"] = [self.on_request, *hooks.get("request", [])]
        hooks["response"] = [self.on_response, *hooks.get("response", [])]
        return {**httpx_args, "event_hooks": hooks}


__all__ = ["READ_AFTER_HEADER", "ReadAfter", "lsn_position"]
