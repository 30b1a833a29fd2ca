"""Calling out to a subscriber safely: the SSRF rules, and one bounded HTTP POST.

A URL must be https and its host must resolve only to public addresses (not private, loopback,
link-local, multicast, reserved …) unless the settings allow more (`WEBHOOK_ALLOW_HTTP`,
`WEBHOOK_ALLOW_PRIVATE_URLS`: development and tests). The rule is checked when an endpoint is
registered and again at every delivery; a delivery resolves the host once, checks every address and
connects to the checked one (TLS still verifies the certificate against the host name), so a DNS
answer that changes between the check and the connection (DNS rebinding) gains nothing. Connect and
read timeouts, no redirect followed (a 3xx is just a failed attempt), at most
`WEBHOOK_RESPONSE_MAX_BYTES` of the answer read.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
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


def resolve(url: str) -> Target:
    """The URL's target with the address to connect to, or `UrlRefused`."""
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
    host = parts.hostname
    port = port or (443 if scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UrlRefused(f"the host {host!r} does not resolve") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not addresses:
        raise UrlRefused(f"the host {host!r} does not resolve")
    if not settings.WEBHOOK_ALLOW_PRIVATE_URLS:
        refused = [str(a) for a in addresses if not _public(a)]
        if refused:
            raise UrlRefused(f"the host {host!r} resolves to a non-public address ({refused[0]})")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme=scheme, host=host, port=port, path=path, address=str(addresses[0]))


class _Connection(http.client.HTTPConnection):
    """Connects to the checked address, whatever the host name resolves to now."""

    def __init__(self, target: Target, connect_timeout: float, read_timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=connect_timeout)
        self._target, self._read_timeout = target, read_timeout

    def connect(self) -> None:
        sock = socket.create_connection((self._target.address, self._target.port), timeout=self.timeout)
        sock.settimeout(self._read_timeout)
        if self._target.scheme == "https":
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self._target.host)
        self.sock = sock


def post(url: str, *, body: bytes, headers: dict[str, str]) -> Answer:
    """POST `body` once. Never raises for the receiver's behaviour: a refused URL, a timeout or a
    broken connection is an `Answer` without status and with `error` set (`UrlRefused` for the first)."""
    target = resolve(url)  # UrlRefused propagates: the caller logs it as refused
    started = time.monotonic()
    connection = _Connection(target, settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS, settings.WEBHOOK_READ_TIMEOUT_SECONDS)
    try:
        connection.request(
            "POST",
            target.path,
            body=body,
            headers={**headers, "Content-Type": "application/json", "User-Agent": "CrowdPay-Webhooks/1"},
        )
        response = connection.getresponse()
        head = response.read(max(0, int(settings.WEBHOOK_RESPONSE_MAX_BYTES)))
        return Answer(status=response.status, latency_ms=_since(started), head=head)
    except TimeoutError:
        return Answer(status=None, latency_ms=_since(started), head=b"", error="timeout")
    except (OSError, http.client.HTTPException) as exc:
        return Answer(status=None, latency_ms=_since(started), head=b"", error=f"{type(exc).__name__}: {exc}"[:200])
    finally:
        connection.close()


def _since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
