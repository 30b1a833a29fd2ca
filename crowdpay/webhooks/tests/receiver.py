"""A real HTTP receiver on loopback (http.server in a thread, port 0) for the webhook tests: it
answers from a script (status codes, or a pause longer than the read timeout) and keeps what it got.
It speaks HTTP/1.1 with keep-alive, as real receivers do (`drop_idle`: it closes each connection
after answering without saying so, as a receiver whose idle timeout ran out does)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    client_port: int = 0  # the sender's side of the connection: the same port, the same connection


@dataclass
class Receiver:
    script: list = field(default_factory=list)  # per request: an int status, or ("sleep", seconds)
    received: list[Received] = field(default_factory=list)
    default: int = 200
    drop_idle: bool = False

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver.received.append(Received(headers, body, self.client_address[1]))
                answer = receiver.script.pop(0) if receiver.script else receiver.default
                if isinstance(answer, tuple):
                    time.sleep(answer[1])
                    answer = receiver.default
                payload = b"ok" if answer < 300 else b"nope"
                self.send_response(answer)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                if receiver.drop_idle:
                    self.close_connection = True

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
