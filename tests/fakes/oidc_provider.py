"""A small OpenID Connect provider for tests, written from OpenID Connect Core 1.0, Discovery 1.0
and RFC 7636 (PKCE): discovery document, authorization endpoint with a sign-in form, token endpoint
(client_secret_basic, PKCE S256 required), JWKS, userinfo. ID tokens are RS256 JWTs signed with
jwcrypto, independently of the Authlib code under test.

``faults`` lets a test make the provider misbehave the ways a relying party must refuse: a wrong
nonce, audience or issuer, an expired token, a token signed by another key.
"""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html import escape
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, jsonify, request
from jwcrypto import jwk, jwt
from werkzeug.serving import make_server


@dataclass
class Person:
    sub: str
    email: str
    name: str
    groups: list[str] = field(default_factory=list)
    email_verified: bool = True


@dataclass
class OidcProvider:
    client_id: str = "edc-console"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    redirect_uris: list[str] = field(default_factory=list)
    people: dict[str, Person] = field(default_factory=dict)
    faults: set[str] = field(default_factory=set)
    issuer: str = ""
    key: jwk.JWK = field(default_factory=lambda: jwk.JWK.generate(kty="RSA", size=2048, kid="k1", alg="RS256"))
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)

    def app(self) -> Flask:
        app = Flask("fake-oidc")

        @app.get("/.well-known/openid-configuration")
        def discovery() -> Response:
            return jsonify({
                "issuer": self.issuer, "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token", "jwks_uri": f"{self.issuer}/jwks",
                "userinfo_endpoint": f"{self.issuer}/userinfo", "response_types_supported": ["code"],
                "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"], "scopes_supported": ["openid", "email", "profile"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                "claims_supported": ["sub", "email", "email_verified", "name", "groups"]})

        @app.get("/jwks")
        def jwks() -> Response:
            return jsonify({"keys": [json.loads(self.key.export_public())]})

        @app.get("/authorize")
        def authorize_form() -> Response | tuple[str, int]:
            args = request.args
            problem = self._check_authorization(args)
            if problem:
                return problem, 400
            hidden = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in args.items())
            return Response(f"""<!doctype html><html lang="en"><head><title>Identity provider</title></head><body>
<h1>Institution sign-in</h1><form method="post" action="/authorize">{hidden}
<label for="login">Login</label><input id="login" name="login" autocomplete="username">
<button type="submit" id="idp-submit">Sign in</button></form></body></html>""", mimetype="text/html")

        @app.post("/authorize")
        def authorize() -> Response | tuple[str, int]:
            form = request.form
            problem = self._check_authorization(form)
            if problem:
                return problem, 400
            person = self.people.get(form.get("login", ""))
            target = form["redirect_uri"]
            if person is None:
                return Response(status=302, headers={"Location": f"{target}?" + urlencode(
                    {"error": "access_denied", "state": form.get("state", "")})})
            code = secrets.token_urlsafe(24)
            self.codes[code] = {"person": person, "nonce": form.get("nonce"), "redirect_uri": target,
                                "challenge": form["code_challenge"], "at": time.time()}
            return Response(status=302, headers={"Location": f"{target}?" + urlencode(
                {"code": code, "state": form.get("state", "")})})

        @app.post("/token")
        def token() -> tuple[Response, int]:
            self.token_requests.append(dict(request.form))
            auth = request.authorization
            if auth is None or auth.username != self.client_id or auth.password != self.client_secret:
                return jsonify({"error": "invalid_client"}), 401
            form = request.form
            grant = self.codes.pop(form.get("code", ""), None)  # codes are single use
            if form.get("grant_type") != "authorization_code" or grant is None \
                    or grant["redirect_uri"] != form.get("redirect_uri") or time.time() - grant["at"] > 60:
                return jsonify({"error": "invalid_grant"}), 400
            verifier = form.get("code_verifier", "")
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if digest != grant["challenge"]:
                return jsonify({"error": "invalid_grant", "error_description": "PKCE verification failed"}), 400
            access = secrets.token_urlsafe(24)
            self.tokens[access] = grant["person"].sub
            return jsonify({"access_token": access, "token_type": "Bearer", "expires_in": 300,
                            "id_token": self._id_token(grant["person"], grant["nonce"], access)}), 200

        @app.get("/userinfo")
        def userinfo() -> tuple[Response, int]:
            scheme, _, access = request.headers.get("Authorization", "").partition(" ")
            sub = self.tokens.get(access) if scheme == "Bearer" else None
            person = next((p for p in self.people.values() if p.sub == sub), None)
            if person is None:
                return jsonify({"error": "invalid_token"}), 401
            return jsonify({"sub": person.sub, "email": person.email, "email_verified": person.email_verified,
                            "name": person.name, "groups": person.groups}), 200

        return app

    def _check_authorization(self, args: Any) -> str | None:
        if args.get("client_id") != self.client_id:
            return "unknown client_id"
        if args.get("redirect_uri") not in self.redirect_uris:
            return "redirect_uri not registered"
        if args.get("response_type") != "code" or "openid" not in (args.get("scope") or "").split():
            return "only the code flow with scope openid"
        if args.get("code_challenge_method") != "S256" or not args.get("code_challenge"):
            return "PKCE S256 is required"
        if not args.get("state") or not args.get("nonce"):
            return "state and nonce are required"
        return None

    def _id_token(self, person: Person, nonce: str | None, access: str) -> str:
        now = int(time.time())
        digest = hashlib.sha256(access.encode()).digest()
        claims = {"iss": self.issuer, "sub": person.sub, "aud": self.client_id, "iat": now, "exp": now + 300,
                  "nonce": nonce, "email": person.email, "email_verified": person.email_verified,
                  "name": person.name, "groups": person.groups,
                  "at_hash": base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()}
        if "wrong-nonce" in self.faults:
            claims["nonce"] = "not-the-nonce"
        if "wrong-audience" in self.faults:
            claims["aud"] = "another-client"
        if "wrong-issuer" in self.faults:
            claims["iss"] = self.issuer + "/other"
        if "expired" in self.faults:
            claims["iat"], claims["exp"] = now - 3600, now - 1800
        key = self.key
        if "foreign-key" in self.faults:
            key = jwk.JWK.generate(kty="RSA", size=2048, kid="k1", alg="RS256")
        token = jwt.JWT(header={"alg": "RS256", "kid": "k1", "typ": "JWT"}, claims=claims)
        token.make_signed_token(key)
        return token.serialize()


@contextmanager
def running_provider(provider: OidcProvider) -> Iterator[OidcProvider]:
    """Serve the provider on an ephemeral loopback port for the duration of the block."""
    server = make_server("127.0.0.1", 0, provider.app(), threaded=True)
    provider.issuer = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        thread.join(timeout=5)
