"""A real HTTP receiver on loopback for webhook and Teams tests: it verifies
every delivery with `standardwebhooks`' own verifier (when it knows the
secret; the timestamp read on the product's clock) and records what arrived.

Paths choose the answer: /ok → 200; /flaky → 500 the first time, then 200;
/fail → 500 always; /hang → no answer until the test ends; /redirect → 302 to
/ok; /big → 200 with a 1 MiB body.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from ideas import clock


class SendersClockWebhook(Webhook):
    """`standardwebhooks`' verifier, its five minutes' tolerance read on the
    product's clock (`ideas.clock`) instead of the machine's: the receiver
    lives in the test's time, frozen or not (tests/conftest.py)."""

    def _Webhook__verify_timestamp(self, timestamp_header: str) -> dt.datetime:  # noqa: N802
        try:
            timestamp = dt.datetime.fromtimestamp(float(timestamp_header), tz=dt.UTC)
        except (TypeError, ValueError, OverflowError):
            raise WebhookVerificationError("Invalid Signature Headers") from None
        if abs(timestamp - clock.source_now()) > dt.timedelta(minutes=5):
            raise WebhookVerificationError("Message timestamp too old or too new")
        return timestamp


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool | None  # None: no secret known for this path
    answered: int

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def message_id(self) -> str:
        return self.headers.get("webhook-id", "")


@dataclass
class Receiver:
    host: str = "127.0.0.1"
    secrets: dict[str, str] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    hits: dict[str, int] = field(default_factory=dict)
    release: threading.Event = field(default_factory=threading.Event)
    #: set when a request reached /slow (it waits for `release`, then answers 200)
    arrived: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{path}"

    def at(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:
                    return  # the sender died mid-request (kill -9): nothing arrived
                path = self.path.split("?", 1)[0]
                n = receiver.hits.get(path, 0) + 1
                receiver.hits[path] = n
                headers = {k.lower(): v for k, v in self.headers.items()}
                verified = None
                secret = receiver.secrets.get(path)
                if secret:
                    try:
                        SendersClockWebhook(secret).verify(body, headers)
                        verified = True
                    except WebhookVerificationError:
                        verified = False
                status, extra, payload = 200, {}, b"thanks"
                if path == "/flaky" and n == 1 or path == "/fail":
                    status, payload = 500, b"oops, try later"
                elif path == "/hang":
                    receiver.release.wait(30)
                elif path == "/slow":
                    receiver.arrived.set()
                    receiver.release.wait(30)
                elif path == "/redirect":
                    status, extra = 302, {"Location": receiver.url("/ok")}
                elif path == "/big":
                    payload = b"x" * (1024 * 1024)
                receiver.received.append(Received(path, headers, body, verified, status))
                try:
                    self.send_response(status)
                    for k, v in extra.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up (timeout, size cap)

        server_class = ThreadingHTTPServer
        if ":" in self.host:
            import socket

            class V6(ThreadingHTTPServer):
                address_family = socket.AF_INET6

            server_class = V6
        self.server = server_class((self.host, 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
