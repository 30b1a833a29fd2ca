"""Fixtures for the saga tests: wallets, a tiny local HTTP service standing in for the remote FX and
settlement services, and a compliance decision of "review" (the first screening never answers it)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from compliance import screening
from compliance import services as compliance_services
from sagas import services
from sagas.models import Saga
from wallets.tests.factories import WalletFactory, funded


@pytest.fixture
def wallet(db):
    return funded(amount=1000_00)


@pytest.fixture
def eur_wallet(db):
    return WalletFactory(base_currency="EUR")


@pytest.fixture
def other_wallet(db):
    return WalletFactory()


def advance(saga: Saga) -> Saga:
    return services.saga_advance(saga_id=saga.id)


class LocalService:
    """A real HTTP server on a free local port. `routes[(method, path)]` answers a request
    (`{"query": ..., "json": ..., "headers": ...}`) with `(status, body)`; every request is kept."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Callable[[dict], tuple[int, object]]] = {}
        self.requests: list[dict] = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self, method: str) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                request = {
                    "method": method,
                    "path": url.path,
                    "query": {k: v[0] for k, v in parse_qs(url.query).items()},
                    "json": json.loads(raw) if raw else None,
                    "headers": dict(self.headers),
                }
                service.requests.append(request)
                route = service.routes.get((method, url.path))
                if route is None:
                    prefix = [r for (m, p), r in service.routes.items() if m == method and url.path.startswith(p)]
                    route = prefix[0] if prefix else (lambda _r: (404, {"code": "not_found"}))
                status, body = route(request)
                payload = body if isinstance(body, bytes) else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client went away (a killed worker)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LocalService:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def local_service():
    with LocalService() as service:
        yield service


# A port nothing listens on: a connection there is refused, a real transient network failure.
UNREACHABLE = "http://127.0.0.1:9"


@pytest.fixture
def review_screening(monkeypatch):
    """Compliance answers "review" (a soft decline) for every operation, and records the review
    cases it is asked to open. The first screening has no rule that answers review; the compliance
    back-office adds them behind the same `screen()` signature."""
    cases: list[dict] = []
    real = screening.screen

    def screen(**kwargs):
        decision = real(**kwargs)
        if decision.outcome != screening.APPROVE:
            return decision
        return screening.Decision(screening.REVIEW, "risk_review", ("a large amount for this wallet",), 70)

    monkeypatch.setattr(screening, "screen", screen)
    monkeypatch.setattr(compliance_services, "review_case_open", lambda **kw: cases.append(kw))
    return cases
