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


@schemathesis.hook
def before_call(context, case, kwargs):
    """Signs each call when FUZZ_SIGN names a key."""
    if _SIGNING:
        key_id, _, secret = _SIGNING.partition(":")
        kwargs["auth"] = BoutiqueSignature(key_id, secret)
