"""An OpenID Connect provider on loopback for the single sign-on tests (issue 16).

It is a real HTTP server on 127.0.0.1 that publishes its configuration at
``/.well-known/openid-configuration`` and its signing keys (JWKS) at ``/keys``, and signs ID
tokens with RSA keys through joserfc (the JOSE library Authlib uses). Tests drive what a
council's provider does: rotate its keys (the old key stays published for a while, as Entra
ID does), leave the old one out, ask for multi-factor or not, take a person out of an app
role. ``shape="entra"`` publishes a configuration shaped like Microsoft Entra ID's documented
one (tenant-specific issuer, ``oid`` and ``tid`` claims, ``roles`` for app roles).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

CLIENT_ID = "5f0c1c3e-9d51-4b2f-8d0a-3c9a7e1f0b42"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


@dataclass
class Person:
    """Someone the provider knows."""

    sub: str
    username: str
    name: str
    email: str
    roles: list[str] = field(default_factory=list)
    oid: str = field(default_factory=lambda: str(uuid.uuid4()))
    enabled: bool = True


class LoopbackProvider:
    """The provider's state: its keys and what its pages say. Start it with :func:`running`."""

    def __init__(self, shape: str = "generic") -> None:
        self.shape = shape
        self.base = ""  # set when it listens
        self.keys: list[RSAKey] = [self._new_key()]
        self.requests: list[str] = []  # the paths asked for, in order
        self.algorithms = ["RS256"]

    @staticmethod
    def _new_key() -> RSAKey:
        return RSAKey.generate_key(
            2048, parameters={"kid": uuid.uuid4().hex[:16], "use": "sig", "alg": "RS256"}
        )

    @property
    def issuer(self) -> str:
        if self.shape == "entra":
            return f"{self.base}/{TENANT}/v2.0"
        return self.base

    @property
    def signing_key(self) -> RSAKey:
        return self.keys[-1]

    def rotate(self, *, keep_old: bool = True) -> None:
        """A new signing key; the old one stays published unless ``keep_old`` is False."""
        new = self._new_key()
        self.keys = [*self.keys, new] if keep_old else [new]

    def configuration(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/keys",
            "response_types_supported": ["code"],
            "subject_types_supported": ["pairwise" if self.shape == "entra" else "public"],
            "id_token_signing_alg_values_supported": self.algorithms,
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "amr", "roles"],
        }
        if self.shape == "entra":
            # as Entra ID's v2.0 document has them
            found["token_endpoint_auth_methods_supported"] = [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ]
            found["tenant_region_scope"] = "EU"
            found["cloud_instance_name"] = "microsoftonline.com"
            found["claims_supported"] += ["oid", "tid", "preferred_username", "name"]
            found.pop("code_challenge_methods_supported")  # Entra ID does not list it
        return found

    def jwks(self) -> dict[str, Any]:
        return KeySet(self.keys).as_dict(private=False)

    def id_token(
        self,
        person: Person,
        *,
        nonce: str,
        audience: str | list[str] = CLIENT_ID,
        mfa: bool = True,
        lifetime: int = 3600,
        issued_at: float | None = None,
        key: RSAKey | None = None,
        algorithm: str = "RS256",
        **extra: Any,
    ) -> str:
        """An ID token for ``person``, signed by the newest key unless ``key`` says which."""
        now = int(issued_at if issued_at is not None else time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": person.sub,
            "aud": audience,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "nonce": nonce,
            "name": person.name,
            "preferred_username": person.username,
            "email": person.email,
            "amr": ["pwd", "mfa"] if mfa else ["pwd"],
            "roles": list(person.roles),
        }
        if self.shape == "entra":
            claims["oid"] = person.oid
            claims["tid"] = TENANT
            claims["ver"] = "2.0"
        claims.update(extra)
        signer = key or self.signing_key
        return jwt.encode({"alg": algorithm, "kid": signer.kid, "typ": "JWT"}, claims, signer)


class _Pages(BaseHTTPRequestHandler):
    provider: LoopbackProvider

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _json(self, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        provider = self.provider
        provider.requests.append(self.path)
        prefix = provider.issuer[len(provider.base) :]
        if self.path == f"{prefix}/.well-known/openid-configuration":
            self._json(provider.configuration())
        elif self.path == f"{prefix}/keys":
            self._json(provider.jwks())
        else:
            self.send_error(404)


@contextmanager
def running(shape: str = "generic") -> Iterator[LoopbackProvider]:
    """A provider listening on 127.0.0.1 (a free port) until the block ends."""
    provider = LoopbackProvider(shape)
    handler = type("Pages", (_Pages,), {"provider": provider})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    provider.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
