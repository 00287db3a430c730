"""The learner's credential page, ``/c/{token}``: the credential as a person reads it, its seal's verdict,
and what to do with it (download the sealed file and the PDF, add it to the Europass wallet or LinkedIn,
share the link). ``/c/manage/{manage_token}`` is the learner's own link (from the e-mail) to hide the
page and show it again.

Public and unguessable (a random token, ``bridge.documents.store``); no login, no JavaScript; English,
French and the credential's own languages; printable. The verdict is computed at every view by the one
verification behind ``/verify`` (``bridge.web.receiving.recognise_upload``), so a revoked credential or
an expired trust anchor shows at once. A hidden page answers exactly like an unknown address.
"""
from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, redirect, request, url_for
from sqlalchemy import select

from bridge.api.common import runtime
from bridge.db.models import Delivery
from bridge.db.sealed_store import STORE, CorruptSealedFile
from bridge.documents import store
from bridge.documents.view import CredentialView, from_credential
from bridge.elm.vocabularies import language_name
from bridge.web.i18n import PAGE_LANGUAGES, render
from bridge.web.receiving import recognise_upload

log = logging.getLogger(__name__)

bp = Blueprint("credential_page", __name__)

CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
LINKEDIN_ADD = "https://www.linkedin.com/profile/add"
EUROPASS_WALLET = "https://europa.eu/europass/en/wallet"


@bp.after_request
def _headers(response: Response) -> Response:
    # The address is the only key to the page: it must not leak to other sites through Referer, nor be
    # indexed by search engines or kept in shared caches.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    if response.mimetype == "text/html":
        response.headers["Content-Security-Policy"] = CSP
        response.headers["Vary"] = "Accept-Language"
    return response


def _languages(credential: dict[str, Any]) -> list[str]:
    """English and French (the interface's languages), then the credential's own display languages."""
    codes = list(PAGE_LANGUAGES)
    display = credential.get("displayParameter") if isinstance(credential, dict) else None
    for item in (display or {}).get("language") or [] if isinstance(display, dict) else []:
        uri = item.get("id") if isinstance(item, dict) else None
        code = _iso(uri)
        if code and code not in codes:
            codes.append(code)
    return codes


def _iso(uri: Any) -> str | None:
    from bridge.elm import codelists

    by_authority = {auth: iso for iso, (auth, _en, _native) in codelists.LANGUAGES.items()}
    return by_authority.get(str(uri or "").rsplit("/", 1)[-1]) if uri else None


def _choose(languages: list[str]) -> str:
    asked = (request.args.get("lang") or "").replace("_", "-").split("-", 1)[0].strip().lower()
    if asked in languages:
        return asked
    return request.accept_languages.best_match(languages, default="en") or "en"


def _not_found(lang: str) -> Response:
    html = render("credential_missing.html", lang, css=url_for("web.static", filename="edc.css"),
                  switch={code: url_for(request.endpoint or "credential_page.page",
                                        **{**(request.view_args or {}), "lang": code}) for code in PAGE_LANGUAGES},
                  nav=_nav(lang))
    return Response(html, status=404, mimetype="text/html")


def _nav(lang: str) -> dict[str, str]:
    return {"verify": url_for("web.verify_form", lang=lang), "catalogue": url_for("web.catalogue_page", lang=lang)}


def _sealed(session: Any, credential: Any) -> bytes | None:
    if credential.sealed_zstd is None:
        return None
    try:
        return STORE.read(session, credential)
    except CorruptSealedFile as exc:
        log.error("credential %s: %s", credential.id, exc)
        return None


def _wallet(session: Any, credential_id: str) -> dict[str, Any] | None:
    row = session.execute(select(Delivery.status, Delivery.result).where(
        Delivery.credential_id == credential_id, Delivery.channel == "wallet")).first()
    if row is None:
        return None
    status, result = row
    result = result if isinstance(result, dict) else {}
    viewer = result.get("viewer_url")
    if status == "delivered":
        state = "delivered"
    elif result.get("wallet_status") == "no_wallet":
        state = "no_wallet"
    else:
        state = "failed" if status in ("failed", "cancelled") else "pending"
    return {"status": state, "viewer_url": viewer if isinstance(viewer, str) and viewer.startswith("https://")
            or isinstance(viewer, str) and viewer.startswith("http://") else None}


def linkedin_url(view: CredentialView, issued: str | None, page_url: str) -> str:
    """LinkedIn's "add a licence or certification" link, prefilled (its documented parameters)."""
    params: dict[str, str] = {"startTask": "CERTIFICATION_NAME", "name": view.title,
                              "organizationName": view.body_name, "certUrl": page_url}
    if view.credential_id:
        params["certId"] = view.credential_id.removeprefix("urn:credential:")
    if issued and len(issued) >= 7 and issued[:4].isdigit():
        params["issueYear"], params["issueMonth"] = issued[:4], str(int(issued[5:7]))
    return f"{LINKEDIN_ADD}?{urlencode(params)}"


@bp.get("/c/<token>")
def page(token: str) -> Response:
    rt = runtime()
    with rt.sessions() as session:
        found = store.page_by_token(session, token)
        if found is None or found[0].hidden or found[1].status in ("received", "assembled", "failed", "skipped"):
            return _not_found(_choose(list(PAGE_LANGUAGES)))
        page_row, credential_row = found
        sealed = _sealed(session, credential_row)
        wallet = _wallet(session, credential_row.id)
        presentation = store.presentation_of(session, credential_row.source, credential_row.course_id)
        has_pdf = page_row.pdf is not None
    if sealed is None:
        return _not_found(_choose(list(PAGE_LANGUAGES)))
    credential = json.loads(json.loads(sealed)["payload"])
    languages = _languages(credential)
    lang = _choose(languages)
    page_url = f"{rt.settings.public_url}{store.PAGE_PATH}{token}"
    view = from_credential(credential, lang, presentation=presentation, page_url=page_url)
    report = recognise_upload(sealed, lang)
    issued = credential.get("issued") if isinstance(credential.get("issued"), str) else None
    ui = lang if lang in PAGE_LANGUAGES or _has_catalogue(lang) else "en"
    html = render(
        "credential.html", ui, v=view, report=report, wallet=wallet, has_pdf=has_pdf,
        revoked=report.get("revocation", {}).get("status") == "revoked" or credential_row.status == "revoked",
        page_url=page_url, linkedin=linkedin_url(view, issued, page_url),
        europass=EUROPASS_WALLET, content_lang=lang,
        downloads={"sealed": url_for("credential_page.sealed_file", token=token),
                   "pdf": url_for("credential_page.pdf_file", token=token)},
        css=url_for("web.static", filename="edc.css"), nav=_nav(ui),
        switch={code: url_for("credential_page.page", token=token, lang=code) for code in PAGE_LANGUAGES},
        languages=[(code, language_name(code, code) or code, url_for("credential_page.page", token=token, lang=code))
                   for code in languages])
    return Response(html, mimetype="text/html")


def _has_catalogue(lang: str) -> bool:
    from bridge.delivery.i18n import available_languages

    return lang in available_languages()


def _downloadable(token: str) -> tuple[Any, bytes]:
    rt = runtime()
    with rt.sessions() as session:
        found = store.page_by_token(session, token)
        if found is None or found[0].hidden or found[1].sealed_zstd is None:
            abort(404)
        sealed = _sealed(session, found[1])
    if sealed is None:
        abort(404)
    return found[1], sealed


@bp.get("/c/<token>/credential.jsonld")
def sealed_file(token: str) -> Response:
    """The sealed credential exactly as signed: what the wallet and verifiers take."""
    credential, sealed = _downloadable(token)
    response = Response(sealed, mimetype="application/ld+json")
    response.headers["Content-Disposition"] = f'attachment; filename="credential-{credential.id}.jsonld"'
    return response


@bp.get("/c/<token>/credential.pdf")
def pdf_file(token: str) -> Response:
    """The sealed PDF: the stored one (made now the first time, then stored)."""
    credential, sealed = _downloadable(token)
    services = runtime().context.services
    pdf = store.stored_pdf(services, credential.id, sealed)
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="credential-{credential.id}.pdf"'
    return response


@bp.route("/c/manage/<manage_token>", methods=["GET", "POST"])
def manage(manage_token: str) -> Response:
    """The learner hides their page (its link stops working) or shows it again."""
    rt = runtime()
    lang = _choose(list(PAGE_LANGUAGES))
    with rt.sessions() as session:
        found = store.page_by_manage_token(session, manage_token)
        if found is None:
            return _not_found(lang)
        page_row, credential_row = found
        credential_id, token, hidden = credential_row.id, page_row.token, bool(page_row.hidden)
    if request.method == "POST":
        action = request.form.get("action")
        if action not in ("hide", "show"):
            abort(400)
        store.set_hidden(rt.sessions, credential_id, action == "hide")
        return redirect(url_for("credential_page.manage", manage_token=manage_token, lang=lang), code=303)
    html = render("credential_manage.html", lang, hidden=hidden, css=url_for("web.static", filename="edc.css"),
                  page_url=f"{rt.settings.public_url}{store.PAGE_PATH}{token}", nav=_nav(lang),
                  action=url_for("credential_page.manage", manage_token=manage_token, lang=lang),
                  switch={code: url_for("credential_page.manage", manage_token=manage_token, lang=code)
                          for code in PAGE_LANGUAGES})
    return Response(html, mimetype="text/html")
