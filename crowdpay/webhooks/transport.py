"""Calling out to a subscriber safely: the SSRF rules, and one bounded HTTP POST.

A URL must be https and its host must resolve only to public addresses (not private, loopback,
link-local, multicast, reserved …) unless the settings allow more (`WEBHOOK_ALLOW_HTTP`,
`WEBHOOK_ALLOW_PRIVATE_URLS`: development and tests). The rule is checked when an endpoint is
registered and again at every delivery; a delivery resolves the host once, checks every address and
connects to the checked one (TLS still verifies the certificate against the host name), so a DNS
answer that changes between the check and the connection (DNS rebinding) gains nothing. Connect and
read timeouts, no redirect followed (a 3xx is just a failed attempt), at most
`WEBHOOK_RESPONSE_MAX_BYTES` of the answer read.

Connections are reused per origin within a worker process (HTTP/1.1 keep-alive, `pool`): the
address check above runs for every connection opened, and an idle connection is only taken again
while its peer address passes the same rule (see "connection reuse" below).
"""

from __future__ import annotations

import http.client
import ipaddress
import os
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from crowdpay.errors import DomainError


class UrlRefused(DomainError):
    code = "webhook_url_refused"
    status = 422


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str  # the checked address to connect to


@dataclass(frozen=True)
class Answer:
    status: int | None
    latency_ms: int
    head: bytes
    error: str = ""


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not (address.is_multicast or address.is_reserved or address.is_link_local)


def _parts(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of a URL this service may call, by its text alone (no DNS)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UrlRefused("the URL is not valid") from None
    scheme = (parts.scheme or "").lower()
    if scheme not in ("https", "http") or not parts.hostname:
        raise UrlRefused("the URL must be an absolute https URL")
    if scheme == "http" and not settings.WEBHOOK_ALLOW_HTTP:
        raise UrlRefused("the URL must use https")
    if parts.username or parts.password:
        raise UrlRefused("the URL must not carry credentials")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, parts.hostname, port or (443 if scheme == "https" else 80), path


def _refusal(host: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> UrlRefused | None:
    if settings.WEBHOOK_ALLOW_PRIVATE_URLS or _public(address):
        return None
    return UrlRefused(f"the host {host!r} resolves to a non-public address ({address})")


def resolve(url: str) -> Target:
    """The URL's target with the address to connect to, or `UrlRefused`."""
    scheme, host, port, path = _parts(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UrlRefused(f"the host {host!r} does not resolve") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not addresses:
        raise UrlRefused(f"the host {host!r} does not resolve")
    for address in addresses:
        if (refused := _refusal(host, address)) is not None:
            raise refused
    return Target(scheme=scheme, host=host, port=port, path=path, address=str(addresses[0]))


_ssl_context: ssl.SSLContext | None = None


def _tls() -> ssl.SSLContext:
    """One verifying client context per process (loading the CA store costs milliseconds)."""
    global _ssl_context
    if _ssl_context is None:
        _ssl_context = ssl.create_default_context()
    return _ssl_context


class _Connection(http.client.HTTPConnection):
    """Connects to the checked address, whatever the host name resolves to now."""

    def __init__(self, target: Target, connect_timeout: float, read_timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=connect_timeout)
        self._target, self._read_timeout = target, read_timeout

    def connect(self) -> None:
        sock = socket.create_connection((self._target.address, self._target.port), timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # a kept connection: no Nagle stalls
        sock.settimeout(self._read_timeout)
        if self._target.scheme == "https":
            sock = _tls().wrap_socket(sock, server_hostname=self._target.host)
        self.sock = sock

    def peer(self) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
        try:
            return ipaddress.ip_address(str(self.sock.getpeername()[0]).split("%")[0])
        except (OSError, AttributeError, ValueError):
            return None


# --- connection reuse --------------------------------------------------------------------------------
# A worker process keeps the connections a receiver left open (HTTP/1.1 keep-alive) and sends its
# next message to the same origin over one of them: no new TCP handshake nor TLS negotiation per
# delivery. The SSRF rule still holds per connection: a new connection is only opened to an address
# just resolved and checked (`resolve`), and an idle one is taken again only if its peer address
# still passes the rule (the settings may have changed) and the URL's text still does (`_parts`).
# A connection idle for `IDLE_SECONDS`, one whose answer was not read to its end (longer than
# `WEBHOOK_RESPONSE_MAX_BYTES`) or that the receiver asked to close is not kept.

IDLE_SECONDS = 30.0  # receivers commonly close idle keep-alive connections after 60 s or more
IDLE_PER_ORIGIN = 8  # at most this many idle connections kept per (scheme, host, port)

Origin = tuple[str, str, int]


class _Pool:
    def __init__(self) -> None:
        self._idle: dict[Origin, list[tuple[_Connection, float]]] = {}
        self._lock = threading.Lock()

    def take(self, origin: Origin) -> _Connection | None:
        now = time.monotonic()
        stale: list[_Connection] = []
        found = None
        with self._lock:
            idle = self._idle.get(origin, [])
            while idle:
                connection, since = idle.pop()
                if now - since <= IDLE_SECONDS:
                    found = connection
                    break
                stale.append(connection)
            stale += [c for c, since in idle if now - since > IDLE_SECONDS]
            idle[:] = [(c, since) for c, since in idle if now - since <= IDLE_SECONDS]
        for connection in stale:
            connection.close()
        return found

    def give(self, origin: Origin, connection: _Connection) -> None:
        with self._lock:
            idle = self._idle.setdefault(origin, [])
            if len(idle) < IDLE_PER_ORIGIN:
                idle.append((connection, time.monotonic()))
                return
        connection.close()

    def clear(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection, _ in connections:
                connection.close()

    def __len__(self) -> int:
        with self._lock:
            return sum(len(v) for v in self._idle.values())


pool = _Pool()
if hasattr(os, "register_at_fork"):
    # A forked worker must not share its parent's sockets.
    os.register_at_fork(after_in_child=lambda: pool.__init__())  # type: ignore[misc]

# A reused connection the receiver had closed meanwhile fails at once with one of these, before any
# answer: the message is sent again, once, on a new connection.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


def _connection_for(url: str, *, reuse: bool = True) -> tuple[_Connection, Origin, str, bool]:
    """A connection to the URL's origin (an idle one whose peer is still allowed, else a new one to
    a just-checked address), its origin, the request path, and whether it is reused. Raises
    `UrlRefused` as `resolve` does."""
    scheme, host, port, path = _parts(url)
    origin = (scheme, host.lower(), port)
    while reuse and (connection := pool.take(origin)) is not None:
        peer = connection.peer()
        refusal = _refusal(host, peer) if peer is not None else None
        if peer is not None and refusal is None:
            return connection, origin, path, True
        connection.close()
        if refusal is not None:
            raise refusal  # the rule changed since it was opened: refused as a new connection would be
    target = resolve(url)
    timeouts = (settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS, settings.WEBHOOK_READ_TIMEOUT_SECONDS)
    return _Connection(target, *timeouts), origin, path, False


def post(url: str, *, body: bytes, headers: dict[str, str]) -> Answer:
    """POST `body` once (over a kept-alive connection to the same origin when there is one). Never
    raises for the receiver's behaviour: a timeout or a broken connection is an `Answer` without
    status and with `error` set; a refused URL raises `UrlRefused` (the caller logs it as refused)."""
    started = time.monotonic()
    connection, origin, path, reused = _connection_for(url)
    sent = {**headers, "Content-Type": "application/json", "User-Agent": "CrowdPay-Webhooks/1"}
    keep = False
    try:
        try:
            connection.request("POST", path, body=body, headers=sent)
            response = connection.getresponse()
        except _STALE:
            if not reused:
                raise
            connection.close()  # closed by the receiver while idle: once more on a new connection
            connection, origin, path, reused = _connection_for(url, reuse=False)
            connection.request("POST", path, body=body, headers=sent)
            response = connection.getresponse()
        head = response.read(max(0, int(settings.WEBHOOK_RESPONSE_MAX_BYTES)))
        # Kept only when the answer was read to its end and neither side asked to close.
        keep = response.isclosed() and not response.will_close
        return Answer(status=response.status, latency_ms=_since(started), head=head)
    except TimeoutError:
        return Answer(status=None, latency_ms=_since(started), head=b"", error="timeout")
    except (OSError, http.client.HTTPException) as exc:
        return Answer(status=None, latency_ms=_since(started), head=b"", error=f"{type(exc).__name__}: {exc}"[:200])
    finally:
        if keep:
            pool.give(origin, connection)
        else:
            connection.close()


def _since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
