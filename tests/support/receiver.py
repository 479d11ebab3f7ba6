"""A webhook receiver for the tests: checks Standard Webhooks signatures and keeps what arrived."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def valid_signature(secret: str, headers: Any, body: bytes) -> bool:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    offered = [
        part.split(",", 1)[1]
        for part in headers["webhook-signature"].split()
        if part.startswith("v1,")
    ]
    return any(hmac.compare_digest(expected, candidate) for candidate in offered)


class Receiver:
    """Listens on a fixed port, so that it can be stopped and started again like a real service."""

    def __init__(self, port: int, secret: str = "") -> None:
        self.port = port
        self.secret = secret
        self.received: list[dict[str, Any]] = []  # every request, duplicates included
        self.bad_signatures = 0
        self.fail_next = 0  # answer this many requests with 500
        self.lock = threading.Condition()
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's hook name
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver.lock:
                    if receiver.fail_next > 0:
                        receiver.fail_next -= 1
                        self.send_response(500)
                        self.end_headers()
                        return
                    if not valid_signature(receiver.secret, self.headers, body):
                        receiver.bad_signatures += 1
                        self.send_response(400)
                        self.end_headers()
                        return
                    event = json.loads(body)
                    assert event["id"] == self.headers["webhook-id"]
                    receiver.received.append(event)
                    receiver.lock.notify_all()
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def unique(self) -> dict[str, dict[str, Any]]:
        with self.lock:
            return {event["id"]: event for event in self.received}

    def wait_for(self, predicate, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        with self.lock:
            while not predicate(self):
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"timed out; {len(self.received)} received"
                self.lock.wait(min(remaining, 0.2))
