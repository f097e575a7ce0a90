"""A real OpenID Connect provider for the tests: npm's `oidc-provider` (the
OpenID-certified Node.js implementation), run by tests/oidc/provider.mjs with
the machine's Node.js on a loopback port. `scripts/test` installs it (npm
ci); without Node.js the tests that need it are skipped, except under
CI=true where they fail.

    provider = TestProvider(redirect_uris=[...]).start()
    provider.set_account("nina", claims={...})      # read at every sign-in
    provider.stop()

It signs ID tokens with `provider.key` (made here), so a test can also sign
tokens the provider would never issue (`provider.sign(...)`).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

HERE = Path(__file__).resolve().parent / "oidc"
PASSWORD = "idp-password-for-tests"
CLIENT_ID = "touchpoint"
CLIENT_SECRET = "test-client-secret-not-a-real-one"


def require_node() -> str:
    node = shutil.which("node")
    problem = None
    if node is None:
        problem = "Node.js is missing (apt-get install nodejs npm)"
    elif not (HERE / "node_modules" / "oidc-provider").exists():
        problem = "tests/oidc/node_modules is missing: run scripts/test (it runs npm ci)"
    if problem:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"the OpenID Connect tests cannot run in CI: {problem}", pytrace=False)
        pytest.skip(problem)
    return node


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TestProvider:
    __test__ = False  # not a test class

    def __init__(self, redirect_uris: list[str], post_logout_redirect_uris: list[str] = ()):
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.folder = Path(tempfile.mkdtemp(prefix="tp-idp-"))
        self.accounts_file = self.folder / "accounts.json"
        self.key = RSAKey.generate_key(
            2048, parameters={"kid": "idp-key-1", "use": "sig", "alg": "RS256"}, private=True
        )
        self.accounts: dict[str, Any] = {}
        self.redirect_uris = list(redirect_uris)
        self.post_logout_redirect_uris = list(post_logout_redirect_uris)
        self.process: subprocess.Popen | None = None

    def env(self, **extra: str) -> dict[str, str]:
        """The app's configuration for this provider."""
        return {
            "OIDC_ISSUER": self.issuer,
            "OIDC_CLIENT_ID": CLIENT_ID,
            "OIDC_CLIENT_SECRET": CLIENT_SECRET,
            **extra,
        }

    def set_account(self, login: str, claims: dict[str, Any]) -> None:
        self.accounts[login] = {"password": PASSWORD, "claims": claims}
        self.accounts_file.write_text(json.dumps(self.accounts))

    def start(self) -> TestProvider:
        node = require_node()
        self.accounts_file.write_text(json.dumps(self.accounts))
        config = {
            "issuer": self.issuer,
            "port": self.port,
            "accounts_file": str(self.accounts_file),
            "keys": [self.key.as_dict(private=True)],
            "clients": [
                {
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "redirect_uris": self.redirect_uris,
                    "post_logout_redirect_uris": self.post_logout_redirect_uris,
                    "token_endpoint_auth_method": "client_secret_basic",
                }
            ],
        }
        config_file = self.folder / "config.json"
        config_file.write_text(json.dumps(config))
        self.log = (self.folder / "provider.log").open("w")
        self.process = subprocess.Popen(
            [node, str(HERE / "provider.mjs"), str(config_file)],
            cwd=HERE,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the test provider exited:\n{self.log_text()}")
            if "READY" in self.log_text():
                return self
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the test provider did not start:\n{self.log_text()}")
            time.sleep(0.05)

    def log_text(self) -> str:
        return (self.folder / "provider.log").read_text(errors="replace")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        shutil.rmtree(self.folder, ignore_errors=True)

    def sign(self, claims: dict[str, Any], key: RSAKey | None = None) -> str:
        """An ID token with these claims, signed with the provider's key (or another)."""
        key = key or self.key
        header = {"alg": "RS256", "kid": key.kid}
        return jwt.encode(header, claims, key)
