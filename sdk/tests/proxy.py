"""A tiny TCP proxy that stands between the SDK and the live service and breaks the first
connections the way networks break: the request reaches the service (and takes effect), and the
answer is lost on the way back."""

from __future__ import annotations

import socket
import threading

BAD_GATEWAY = (
    b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: 22\r\nConnection: close\r\n\r\n"
    b"<h1>502 upstream</h1>\n"
)


class FlakyProxy:
    """Forwards 127.0.0.1:`port` to the upstream port. On each of the first `faults` connections
    it forwards the request, waits for the service's answer and throws it away; then, in mode
    `"drop"`, closes the connection without a byte (the client sees the server disconnect), and
    in mode `"502"` answers 502 itself, as a load balancer whose upstream timed out.
    `lost` keeps the status line of each answer thrown away."""

    def __init__(self, upstream_port: int, *, faults: int = 1, mode: str = "drop") -> None:
        assert mode in ("drop", "502")
        self.upstream_port = upstream_port
        self.faults = faults
        self.mode = mode
        self.connections = 0
        self.lost: list[bytes] = []
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> FlakyProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                _close(sock)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            with self._lock:
                index = self.connections
                self.connections += 1
            threading.Thread(target=self._serve, args=(client, index < self.faults), daemon=True).start()

    def _serve(self, client: socket.socket, faulty: bool) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        with self._lock:
            self._sockets += [client, upstream]
        threading.Thread(target=_pump, args=(client, upstream), daemon=True).start()
        if not faulty:
            _pump(upstream, client)
            return
        answer = upstream.recv(65536)  # the service has done the work and answered
        with self._lock:
            self.lost.append(answer.split(b"\r\n", 1)[0])
        if self.mode == "502":
            client.sendall(BAD_GATEWAY)
        _close(client)
        _close(upstream)


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            target.sendall(chunk)
    except OSError:
        pass
    finally:
        _close(target)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
