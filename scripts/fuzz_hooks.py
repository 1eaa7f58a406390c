"""Schemathesis hooks for scripts/fuzz: signs requests the way the fraud engine's callers do.

Every request to the fraud engine must be signed (business-services/src/fraud/signing.rs):
headers x-boutique-key-id, x-boutique-timestamp (Unix seconds) and x-boutique-signature, the hex
HMAC-SHA256 of "METHOD\\npath-and-query\\ntimestamp\\nhex SHA-256 of the body" under the
caller's secret. Unsigned, every request would stop at the door with a 401 and the fuzzer
would test nothing behind it. scripts/fuzz sets FUZZ_SIGN=key_id:secret for the fraud engine
only; with it empty, requests go out as generated.
"""

import hashlib
import hmac
import os
import shlex
import subprocess
import time

import requests
import schemathesis


class BoutiqueSignature(requests.auth.AuthBase):
    """Signs the request as sent: its final method, path and query, and body bytes."""

    def __init__(self, key_id: str, secret: str) -> None:
        self.key_id = key_id
        self.secret = secret.encode()

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        timestamp = str(int(time.time()))
        text = "\n".join([request.method or "", request.path_url, timestamp, hashlib.sha256(body).hexdigest()])
        request.headers["x-boutique-key-id"] = self.key_id
        request.headers["x-boutique-timestamp"] = timestamp
        request.headers["x-boutique-signature"] = hmac.new(self.secret, text.encode(), hashlib.sha256).hexdigest()
        return request


_SIGNING = os.environ.get("FUZZ_SIGN", "")

# Every system verifies a service token on each call (docs/SECURITY.md). FUZZ_CREDENTIAL is a
# command printing the Authorization value for `--for SYSTEM --route "METHOD /path"`
# (`boutique credential`); FUZZ_SYSTEM names the system fuzzed. Tokens live 60 s: each is kept
# 30 s per operation. Without the command, requests go out as generated (and stop at the door).
_CREDENTIAL = shlex.split(os.environ.get("FUZZ_CREDENTIAL", ""))
_SYSTEM = os.environ.get("FUZZ_SYSTEM", "")
_CREDENTIALS: dict = {}


def _credential(method: str, path: str) -> str:
    """The Authorization value for the operation; empty for systems that authenticate their
    own callers (the command says so and fails)."""
    key = (method, path)
    minted, value = _CREDENTIALS.get(key, (-60.0, ""))
    if time.monotonic() - minted > 30:
        route = f"{method.upper()} {path}"
        command = _CREDENTIAL + ["--for", _SYSTEM, "--route", route]
        answer = subprocess.run(command, capture_output=True, text=True)
        value = answer.stdout.strip() if answer.returncode == 0 else ""
        _CREDENTIALS[key] = (time.monotonic(), value)
    return value


@schemathesis.hook
def before_call(context, case, kwargs):
    """Presents a service token when FUZZ_CREDENTIAL says how to get one, and signs each call
    when FUZZ_SIGN names a key."""
    # Operations that declare a security scheme (the operator's) keep what Schemathesis sends:
    # its missing-header check removes the Authorization header and expects the 401.
    declares_security = bool(case.operation.definition.raw.get("security"))
    if _CREDENTIAL and _SYSTEM and not declares_security:
        credential = _credential(case.operation.method, case.operation.path)
        headers = case.headers if case.headers is not None else {}
        if credential and not any(name.lower() == "authorization" for name in headers):
            headers["Authorization"] = credential
            case.headers = headers
    if _SIGNING:
        key_id, _, secret = _SIGNING.partition(":")
        kwargs["auth"] = BoutiqueSignature(key_id, secret)
