"""A real HTTP receiver on loopback (http.server in a thread, port 0) for the webhook tests: it
answers from a script (status codes, or a pause longer than the read timeout) and keeps what it got."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    script: list = field(default_factory=list)  # per request: an int status, or ("sleep", seconds)
    received: list[Received] = field(default_factory=list)
    default: int = 200

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append(Received({k.lower(): v for k, v in self.headers.items()}, body))
                answer = receiver.script.pop(0) if receiver.script else receiver.default
                if isinstance(answer, tuple):
                    time.sleep(answer[1])
                    answer = receiver.default
                payload = b"ok" if answer < 300 else b"nope"
                self.send_response(answer)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float = 60.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.received
