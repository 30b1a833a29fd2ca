"""A stand-in KYC provider: a real HTTP server on a free loopback port, started by the test.

`answers` is a queue of what `POST /checks` answers, in order (the last one repeats): a status and a
JSON body, or "slow" (the answer comes after `slow_seconds`, past the client's timeout).
`GET /checks/{id}` answers `polled`. Every request is kept with its headers and parsed body."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class StubKycProvider:
    def __init__(self) -> None:
        self.answers: list = [(200, {"id": "chk_1", "status": "pending", "reasons": []})]
        self.polled: tuple[int, dict] = (200, {"id": "chk_1", "status": "verified", "reasons": []})
        self.slow_seconds = 1.0
        self.requests: list[dict] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status: int, body: object) -> None:
                payload = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up (a timeout)

            def _record(self, method: str) -> dict:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                request = {
                    "method": method,
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "json": json.loads(raw) if raw else None,
                }
                stub.requests.append(request)
                return request

            def do_POST(self) -> None:
                self._record("POST")
                answer = stub.answers.pop(0) if len(stub.answers) > 1 else stub.answers[0]
                if answer == "slow":
                    time.sleep(stub.slow_seconds)
                    answer = (200, {"id": "chk_slow", "status": "pending"})
                self._answer(*answer)

            def do_GET(self) -> None:
                self._record("GET")
                self._answer(*stub.polled)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> StubKycProvider:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
