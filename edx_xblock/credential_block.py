"""The European Digital Credential block: course teams describe the credential, learners see it.

Pages render from local state only (the block's fields and the LMS outbox row), so a slow or hung
sidecar never delays a page; the learner's page then asks the ``status`` handler, which looks the
credential up with a short timeout and caches the answer. The browser only ever talks to this
block's handlers; the source's API key stays on the server.

Studio owns the template: the editor saves the block's fields (a draft), and the plugin app pushes
the template when the course is published (plugin/publishing.py). Only users Studio lets edit the
course may save; in the LMS nobody can, whatever their course role.
"""
from __future__ import annotations

import logging
from importlib import resources
from typing import Any

from django.template import Context, Engine
from web_fragments.fragment import Fragment
from webob import Response
from xblock.completable import XBlockCompletionMode
from xblock.core import XBlock
from xblock.fields import Dict, Float, Integer, List, Scope, String

from edx_xblock import messages, olx
from edx_xblock.client import SidecarClient, SidecarError, SidecarRejected
from edx_xblock.config import BridgeConfig, ConfigError, django_config
from edx_xblock.i18n import current_language, gettext_of
from edx_xblock.keys import template_course_id
from edx_xblock.status import (
    CHECKING,
    DELIVERY_FAILED,
    ISSUED,
    ISSUING,
    NOT_EARNED,
    UNKNOWN,
    LearnerStatus,
    from_dict,
    from_outbox,
    learner_status,
)
from edx_xblock.template_form import LEARNING_SETTINGS, MODES, validate_form

log = logging.getLogger(__name__)

_ENGINE = Engine(dirs=[str(resources.files("edx_xblock") / "templates")], autoescape=True)
SEARCH_MIN_CHARS = 2
SEARCH_LIMIT = 10
UNKNOWN_CACHE_SECONDS = 15
LABEL_TIMEOUT = 3.0


def _static(name: str) -> str:
    return (resources.files("edx_xblock") / "static" / name).read_text(encoding="utf-8")


def _pick(texts: dict[str, str], lang: str, fallbacks: list[str]) -> str:
    """A language map's text in ``lang``, else in the course languages' order, else any."""
    for candidate in [lang, *fallbacks, "en"]:
        if texts.get(candidate):
            return texts[candidate]
    return next(iter(texts.values()), "")


def _plugin_installed() -> bool:
    from django.apps import apps

    return apps.is_installed("edx_xblock.plugin")


@XBlock.needs("i18n")
@XBlock.wants("user", "settings", "studio_user_permissions")  # wants, not needs: the outline renders without them
class EdcCredentialBlock(XBlock):
    """Describes the course's European Digital Credential and shows each learner where theirs stands."""

    # Informational: it never holds a learner back from completing a unit or the course.
    completion_mode = XBlockCompletionMode.EXCLUDED
    has_author_view = True

    display_name = String(display_name="Display name", default="European Digital Credential",
                          scope=Scope.settings)
    languages = List(default=["en"], scope=Scope.settings, help="Languages of the credential texts")
    title = Dict(default={}, scope=Scope.settings, help="Credential title per language")
    description = Dict(default={}, scope=Scope.settings, help="Credential description per language")
    ects = Float(default=None, scope=Scope.settings, help="ECTS credit points")
    eqf_level = Integer(default=None, scope=Scope.settings, help="EQF level, 1 to 8")
    isced_f = String(default="", scope=Scope.settings, help="ISCED-F 2013 field code")
    mode = String(default="online", scope=Scope.settings, values=list(MODES))
    learning_setting = String(default="non-formal", scope=Scope.settings, values=list(LEARNING_SETTINGS))
    volume_hours = Float(default=None, scope=Scope.settings, help="Volume of learning in hours")
    outcomes = List(default=[], scope=Scope.settings,
                    help='[{"text": {lang: text}, "esco_skills": [{"uri", "labels": {lang: label}}]}]')
    template_version = Integer(default=None, scope=Scope.settings,
                               help="Version the sidecar gave the template (kept in OLX exports)")

    # ----- helpers -----------------------------------------------------------------------------
    @property
    def i18n_service(self) -> Any:
        return self.runtime.service(self, "i18n")

    def _gettext(self) -> Any:
        return gettext_of(self.i18n_service)

    def _language(self) -> str:
        return current_language(self.i18n_service)

    def _config(self) -> BridgeConfig:
        settings_service = self.runtime.service(self, "settings")
        bucket = settings_service.get_settings_bucket(self) if settings_service is not None else None
        return django_config(bucket if isinstance(bucket, dict) else None)

    def course_key(self) -> str | None:
        """The course run as the events name it (``str(course_key)``; a CCX key inside a CCX)."""
        key = getattr(self.scope_ids.usage_id, "context_key", None) or getattr(self, "course_id", None)
        return str(key) if key else None

    def _user_attrs(self) -> dict[str, Any]:
        service = self.runtime.service(self, "user")
        user = service.get_current_user() if service is not None else None
        return getattr(user, "opt_attrs", {}) or {}

    def learner_id(self) -> str | None:
        """The platform's numeric user id (what completions carry), or None when nobody is logged in."""
        attrs = self._user_attrs()
        for key in ("edx-platform.user_id", "xblock-workbench.user_id"):
            value = attrs.get(key)
            if value not in (None, ""):
                return str(value)
        return None

    def _is_course_staff(self) -> bool:
        attrs = self._user_attrs()
        return bool(attrs.get("edx-platform.user_is_staff") or attrs.get("edx-platform.user_is_global_staff"))

    def may_edit(self) -> bool:
        """Whether the current user may change the credential (handlers are reachable by learners too).

        Edit rights are Studio's: the ``studio_user_permissions`` service says whether the user may edit
        the course's content (global staff, or course team with write access). In the LMS there is no
        such service: nobody edits there, course staff included (settings are read-only there anyway).
        A runtime that is neither (the SDK workbench) has no notion of roles.
        """
        permissions = self.runtime.service(self, "studio_user_permissions")
        course = self.course_key()
        if permissions is not None:
            if course is None:
                return False
            from opaque_keys.edx.keys import CourseKey

            key = CourseKey.from_string(course)
            check = getattr(permissions, "can_edit_content", None)
            if callable(check):  # Ulmo on: can_write is deprecated
                return bool(check(key))
            return bool(permissions.can_write(key))
        return "edx-platform.user_id" not in self._user_attrs()

    def field_values(self) -> dict[str, Any]:
        return {"display_name": self.display_name, "languages": list(self.languages), "title": dict(self.title),
                "description": dict(self.description), "ects": self.ects, "eqf_level": self.eqf_level,
                "isced_f": self.isced_f, "mode": self.mode, "learning_setting": self.learning_setting,
                "volume_hours": self.volume_hours, "outcomes": list(self.outcomes)}

    def _render(self, template: str, **context: Any) -> str:
        return _ENGINE.get_template(template).render(Context(context))

    def _support(self) -> str:
        try:
            return self._config().support_contact
        except ConfigError:
            return ""

    def _outcomes(self, lang: str) -> list[dict[str, Any]]:
        course_langs = list(self.languages)
        return [{"text": _pick(o.get("text", {}), lang, course_langs),
                 "skills": [{"uri": s["uri"], "label": _pick(s.get("labels", {}), lang, course_langs)
                             or s["uri"].rsplit("/", 1)[-1]} for s in o.get("esco_skills", [])]}
                for o in self.outcomes]

    # ----- learner -----------------------------------------------------------------------------
    def _cache_key(self, course: str, learner: str) -> str:
        return f"edc_bridge.status.{template_course_id(course)}.{learner}"

    def _outbox(self, course: str, learner: str) -> tuple[LearnerStatus | None, bool]:
        """(the state the outbox decides, whether the completion was handed to the sidecar)."""
        if not _plugin_installed():
            return None, False
        from edx_xblock.plugin.outbox import state_for

        row = state_for(course, learner)
        if row is None:
            return None, False
        return from_outbox(row.status, row.last_error), row.status == "sent"

    def _known(self, course: str, learner: str) -> tuple[LearnerStatus | None, bool]:
        """(the state known without the sidecar — the outbox's, else a cached answer — and whether sent)."""
        decided, sent = self._outbox(course, learner)
        if decided is not None:
            return decided, sent
        from django.core.cache import cache

        cached = cache.get(self._cache_key(course, learner))
        return (from_dict(cached) if isinstance(cached, dict) else None), sent

    def local_status(self) -> LearnerStatus | None:
        """What the LMS knows without asking the sidecar (None for anonymous/preview users)."""
        learner, course = self.learner_id(), self.course_key()
        if learner is None or course is None:
            return None
        known, sent = self._known(course, learner)
        return known or LearnerStatus(CHECKING if sent else NOT_EARNED)

    def current_status(self) -> LearnerStatus | None:
        """The learner's state: the outbox when it decides, else the sidecar (short timeout, cached)."""
        learner, course = self.learner_id(), self.course_key()
        if learner is None or course is None:
            return None
        known, _sent = self._known(course, learner)
        if known is not None:
            return known
        from django.core.cache import cache

        key = self._cache_key(course, learner)
        try:
            config = self._config()
            client = SidecarClient(config, timeout=config.status_timeout)
            status = learner_status(client.credentials_for(template_course_id(course), learner))
            if status.state != ISSUING:  # issuing is asked again by the page until it settles
                cache.set(key, status.to_dict(staff=True), config.status_cache_seconds)
        except (SidecarError, ConfigError) as exc:
            log.warning("credential status unavailable for course %s: %s", course, exc)
            status = LearnerStatus(UNKNOWN)
            cache.set(key, status.to_dict(), UNKNOWN_CACHE_SECONDS)
        return status

    @XBlock.supports("multi_device")
    def student_view(self, context: dict[str, Any] | None = None) -> Fragment:
        """Outcomes with their ESCO skills, and the learner's state (local now, refreshed by the page)."""
        _ = self._gettext()
        lang = self._language()
        status = self.local_status()
        texts = messages.learner(_, self._support())
        html = self._render(
            "student.html", block_title=self.display_name, title=_pick(self.title, lang, list(self.languages)),
            description=_pick(self.description, lang, list(self.languages)), outcomes=self._outcomes(lang),
            status=status.to_dict(staff=self._is_course_staff()) if status else None, messages=texts, lang=lang)
        frag = Fragment(html)
        frag.add_css(_static("css/edc_credential.css"))
        frag.add_javascript(_static("js/student.js"))
        frag.initialize_js("EdcCredentialStudent", {
            "status_url": self.runtime.handler_url(self, "status"),
            "download_url": self.runtime.handler_url(self, "download"),
            "state": status.state if status else None, "messages": texts})
        return frag

    @XBlock.json_handler
    def status(self, _data: Any, _suffix: str = "") -> dict[str, Any]:
        """The learner's state for the page, which asks right after rendering and while issuing."""
        status = self.current_status()
        if status is None:
            return {"state": None}
        answer = status.to_dict(staff=self._is_course_staff())
        if status.state == ISSUED and not status.wallet_url:
            try:
                answer["wallet_url"] = self._config().europass_url
            except ConfigError:
                pass
        return answer

    @XBlock.handler
    def download(self, request: Any, _suffix: str = "") -> Response:
        """The current learner's sealed file; the credential id is never taken from the request."""
        _ = self._gettext()
        status = self.current_status()
        if status is None or status.credential_id is None or status.state not in (ISSUED, DELIVERY_FAILED):
            return Response(_("No sealed credential is available for you in this course."), status=404,
                            content_type="text/plain", charset="utf-8")
        try:
            sealed = self._client().sealed(status.credential_id)
        except (SidecarError, ConfigError):
            return Response(_("The credential service is not reachable right now; try again later."),
                            status=503, content_type="text/plain", charset="utf-8")
        return Response(sealed, content_type="application/ld+json", content_disposition=(
            f'attachment; filename="credential-{status.credential_id}.jsonld"'))

    def _client(self, timeout: float | None = None) -> SidecarClient:
        return SidecarClient(self._config(), timeout=timeout)

    # ----- course team -------------------------------------------------------------------------
    def author_view(self, context: dict[str, Any] | None = None) -> Fragment:
        """Studio's preview: what the credential says and where its publication stands (no network)."""
        _ = self._gettext()
        lang = self._language()
        texts = messages.author(_)
        state, errors, version = "no_plugin", [], None
        if _plugin_installed() and self.course_key():
            from edx_xblock.plugin.models import CourseCredential

            row = CourseCredential.objects.filter(course_id=template_course_id(self.course_key())).first()
            state = "not_published" if row is None else row.status
            errors, version = (row.errors or []) if row else [], row.version if row else None
        html = self._render("author.html", title=_pick(self.title, lang, list(self.languages)) or self.display_name,
                            outcomes=self._outcomes(lang), no_outcomes=messages.no_outcomes(_), state=state,
                            errors=errors,
                            message=texts.get(state, "").format(version=version), lang=lang)
        frag = Fragment(html)
        frag.add_css(_static("css/edc_credential.css"))
        return frag

    def studio_view(self, context: dict[str, Any] | None = None) -> Fragment:
        """The form: texts per language, ECTS/EQF/ISCED-F/mode/volume, outcomes tagged with ESCO skills."""
        _ = self._gettext()
        config_error = None
        try:
            config = self._config()
            if not config.awarding_body:
                config_error = _("EDC_BRIDGE['AWARDING_BODY'] is not set: ask the platform administrator.")
        except ConfigError as exc:
            config_error = str(exc)
        html = self._render("studio.html", modes=messages.options(_, messages.MODE_LABELS),
                            settings=messages.options(_, messages.SETTING_LABELS), config_error=config_error,
                            template_version=self.template_version, labels=messages.studio_labels(_),
                            lang=self._language())
        frag = Fragment(html)
        frag.add_css(_static("css/edc_credential.css"))
        frag.add_javascript(_static("js/studio.js"))
        frag.initialize_js("EdcCredentialStudio", {
            "values": self.field_values(), "lang": self._language(),
            "save_url": self.runtime.handler_url(self, "save_settings"),
            "search_url": self.runtime.handler_url(self, "search_skills"),
            "strings": messages.studio_strings(_)})
        return frag

    def _search_languages(self, first: str) -> list[str]:
        """The UI language first, then the course's languages, then the snapshot's (en, fr)."""
        order: list[str] = []
        for lang in [first, *self.languages, "en", "fr"]:
            if isinstance(lang, str) and len(lang) == 2 and lang not in order:
                order.append(lang)
        return order

    @XBlock.json_handler
    def search_skills(self, data: Any, _suffix: str = "") -> dict[str, Any]:
        """Type-ahead: ESCO skills matching ``q``, in the teacher's language and then in all languages."""
        _ = self._gettext()
        if not self.may_edit():
            return {"results": [], "errors": [{"field": "q", "message": _("Only the course team may do this.")}]}
        q = data.get("q") if isinstance(data, dict) else None
        lang = data.get("lang") if isinstance(data, dict) and data.get("lang") else self._language()
        if not isinstance(q, str) or len(q.strip()) < SEARCH_MIN_CHARS:
            return {"results": [], "errors": [{"field": "q", "message": _(
                "Type at least {n} characters.").format(n=SEARCH_MIN_CHARS)}]}
        try:
            client = self._client()
        except ConfigError as exc:
            return {"results": [], "errors": [{"field": "q", "message": str(exc)}]}
        results: list[dict[str, str]] = []
        for language in self._search_languages(str(lang)[:2]):
            try:
                answer = client.search_skills(q.strip(), language, SEARCH_LIMIT)
            except SidecarRejected as exc:
                if any(e.get("field") == "lang" for e in exc.errors):
                    continue  # a language the sidecar's ESCO data does not have
                return {"results": [], "errors": exc.errors or [{"field": "q", "message": exc.detail}]}
            except SidecarError:
                return {"results": [], "errors": [{"field": "q", "message": _(
                    "The ESCO search is not reachable right now; try again later.")}]}
            seen = {r["uri"] for r in results}
            results += [{"uri": h["uri"], "label": h.get("label") or h["uri"], "lang": language}
                        for h in answer.get("results", []) if isinstance(h, dict) and h.get("uri")
                        and h["uri"] not in seen]
            if len(results) >= SEARCH_LIMIT:
                break
        return {"lang": str(lang)[:2], "results": results[:SEARCH_LIMIT]}

    @XBlock.json_handler
    def save_settings(self, data: Any, _suffix: str = "") -> dict[str, Any]:
        """Validate and store the fields (a draft in Studio); publishing sends the template."""
        _ = self._gettext()
        if not self.may_edit():
            return {"result": "error", "errors": [{"field": "", "message": _("Only the course team may do this.")}]}
        form = validate_form(data, _)
        if form.errors:
            return {"result": "error", "errors": form.errors}
        try:
            _complete_labels(self._client(timeout=LABEL_TIMEOUT), form.values["outcomes"], form.values["languages"])
        except ConfigError:
            pass  # labels stay as chosen; the sidecar labels skills from its own ESCO data
        for name, value in form.values.items():
            setattr(self, name, value)
        if not form.values["outcomes"]:
            return {"result": "saved", "warnings": [{"field": "learning_outcomes", "message": messages.no_outcomes(_)}]}
        return {"result": "saved"}

    # ----- OLX ---------------------------------------------------------------------------------
    @classmethod
    def parse_xml(cls, node: Any, runtime: Any, keys: Any) -> EdcCredentialBlock:
        """Read the readable OLX form written by :meth:`add_xml_to_node` (course import)."""
        block = runtime.construct_xblock_from_class(cls, keys)
        for name, value in olx.read(node).items():
            setattr(block, name, value)
        return block

    def add_xml_to_node(self, node: Any) -> None:
        """Write the fields as attributes and child elements (course export)."""
        node.tag = self.scope_ids.block_type
        olx.write(node, self.field_values(), self.template_version)

    @staticmethod
    def workbench_scenarios() -> list[tuple[str, str]]:
        return [("EDC credential", olx.EXAMPLE)]


def _complete_labels(client: SidecarClient, outcomes: list[dict[str, Any]], languages: list[str]) -> None:
    """Give each chosen skill its ESCO label in every course language (the search returned only one).

    Best effort, with a short timeout: when the lookup fails the labels stay as chosen, and the sidecar
    still labels the credential from its own ESCO data at issuance.
    """
    for outcome in outcomes:
        for skill in outcome["esco_skills"]:
            if all(skill["labels"].get(lang) for lang in languages):
                continue
            try:
                found = client.skill(skill["uri"].rsplit("/", 1)[-1])
            except SidecarError:
                return
            labels = found.get("pref_label") if isinstance(found.get("pref_label"), dict) else {}
            skill["labels"] = {**{k: v for k, v in labels.items() if k in languages and isinstance(v, str)},
                               **skill["labels"]}
