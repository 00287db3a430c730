"""OpenID Connect sign-in (authorization code flow) with Authlib.

Authlib does the protocol: discovery from ``EDC_OIDC_ISSUER``, ``state``, ``nonce`` and a PKCE S256
verifier kept in the (server-side) console session, the code exchange, and ID-token validation
(signature against the provider's JWKS, ``iss``, ``aud``, ``exp``/``iat``, ``nonce``, ``at_hash``).
This module decides who that person is here: an account linked to the issuer and subject, else a
pre-created account whose e-mail the provider says is verified (linked on first sign-in). People
nobody invited are refused, unless ``EDC_OIDC_ROLE_MAP`` gives them a role from their groups.
"""
from __future__ import annotations

from typing import Any

from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bridge.console.accounts import SignInRefused, set_roles
from bridge.console.config import OidcSettings
from bridge.console.roles import Grant
from bridge.db.models import StaffUser, utcnow

CLIENT = "institution"
CALLBACK = "/console/oidc/callback"


class OidcFailed(Exception):
    """The provider's answer was refused (state, nonce, signature, error from the provider...)."""


def install(app: Flask, settings: OidcSettings) -> OAuth:
    oauth = OAuth(app)
    oauth.register(CLIENT, client_id=settings.client_id, client_secret=settings.client_secret,
                   server_metadata_url=f"{settings.issuer}/.well-known/openid-configuration",
                   client_kwargs={"scope": settings.scopes, "code_challenge_method": "S256",
                                  "token_endpoint_auth_method": "client_secret_basic" if settings.client_secret
                                  else "none", "timeout": 10})
    return oauth


def _client(app: Flask) -> Any:
    return app.extensions["authlib.integrations.flask_client"].create_client(CLIENT)


def begin(app: Flask, redirect_uri: str) -> Any:
    """The redirect to the provider; state, nonce and the PKCE verifier go into the session."""
    return _client(app).authorize_redirect(redirect_uri)


def finish(app: Flask) -> dict[str, Any]:
    """The validated claims of the person coming back from the provider (ID token, then userinfo)."""
    client = _client(app)
    try:
        token = client.authorize_access_token()
    except OAuthError as exc:
        raise OidcFailed(f"{exc.error}: {exc.description or ''}".strip(": ")) from None
    except Exception as exc:  # noqa: BLE001 - any failure of the exchange or the token check refuses
        raise OidcFailed(f"{type(exc).__name__}: {exc}"[:300]) from None
    claims = token.get("userinfo")
    if not claims:
        raise OidcFailed("the provider returned no ID token")
    claims = dict(claims)
    metadata = client.load_server_metadata()
    if metadata.get("userinfo_endpoint"):
        try:
            extra = dict(client.userinfo(token=token))
        except Exception as exc:  # noqa: BLE001 - userinfo is a complement; the ID token stands
            extra = {}
            claims.setdefault("_userinfo_error", type(exc).__name__)
        if extra.get("sub") == claims.get("sub"):  # OIDC Core 5.3.2: a different sub must not be used
            claims = {**extra, **claims}
    return claims


def _groups(claims: dict[str, Any], settings: OidcSettings) -> list[str]:
    value = claims.get(settings.roles_claim)
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def mapped_grants(claims: dict[str, Any], settings: OidcSettings) -> list[Grant] | None:
    """Roles from the person's groups, or None when no mapping is configured."""
    if not settings.role_map and not settings.course_prefix:
        return None
    grants: list[Grant] = []
    for group in _groups(claims, settings):
        if group in settings.role_map:
            grants.append(Grant(settings.role_map[group]))
        elif settings.course_prefix and group.startswith(settings.course_prefix):
            source, _, course = group[len(settings.course_prefix):].partition("/")
            if source and course:
                grants.append(Grant("course_team", source, course))
    return grants


def provision(session: Session, claims: dict[str, Any], settings: OidcSettings) -> StaffUser:
    """The account of the person described by ``claims``; SignInRefused when there is none."""
    issuer, subject = str(claims.get("iss") or settings.issuer), str(claims.get("sub") or "")
    if not subject:
        raise SignInRefused("the ID token has no subject")
    user = session.scalar(select(StaffUser).where(StaffUser.oidc_issuer == issuer, StaffUser.oidc_subject == subject))
    email = str(claims.get("email") or "").strip().lower()
    if user is None and email and claims.get("email_verified") is True:
        user = session.scalar(select(StaffUser).where(func.lower(StaffUser.email) == email,
                                                      StaffUser.oidc_subject.is_(None)))
        if user is not None:
            user.oidc_issuer, user.oidc_subject = issuer, subject
    grants = mapped_grants(claims, settings)
    if user is None:
        if not grants:
            raise SignInRefused(f"no account for {email or subject} at this service")
        name = str(claims.get("name") or claims.get("preferred_username") or email or subject)
        username = str(claims.get("preferred_username") or email or subject)[:120]
        if session.scalar(select(StaffUser.id).where(func.lower(StaffUser.username) == username.lower())):
            username = f"{username[:100]}@{subject[:19]}"
        user = StaffUser(username=username, display_name=name[:200], email=email or None, failed_logins=0,
                         disabled=False, oidc_issuer=issuer, oidc_subject=subject, created_at=utcnow())
        session.add(user)
    if user.disabled:
        raise SignInRefused("account disabled", user)
    if grants is not None:
        set_roles(user, grants)
    if claims.get("name"):
        user.display_name = str(claims["name"])[:200]
    user.last_login_at = utcnow()
    session.commit()
    return user
