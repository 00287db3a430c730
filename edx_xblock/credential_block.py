"""The European Digital Credential block: course teams describe the credential, learners see it.

The browser only ever talks to this block's handlers; the handlers call the sidecar signed with the
source's API key, which stays on the server. Everything the block knows about a learner's credential
comes from the sidecar at render time (nothing is copied into user state, so a revocation or a
failed delivery shows up without any synchronisation).
"""
from __future__ import annotations

import logging
from importlib import resources
from typing import Any

from django.template import Context, Engine
from web_fragments.fragment import Fragment
from webob import Response
from xblock.core import XBlock
from xblock.fields import Dict, Float, Integer, List, Scope, String

from edx_xblock import olx
from edx_xblock.client import SidecarClient, SidecarError, SidecarRejected, SidecarUnavailable
from edx_xblock.config import BridgeConfig, ConfigError, django_config
from edx_xblock.i18n import current_language, translation
from edx_xblock.status import ISSUED, LearnerStatus, learner_status
from edx_xblock.template_form import LEARNING_SETTINGS, MODES, build_template, validate_form

log = logging.getLogger(__name__)

_ENGINE = Engine(dirs=[str(resources.files("edx_xblock") / "templates")], autoescape=True)
SEARCH_MIN_CHARS = 2
SEARCH_LIMIT = 10


def _static(name: str) -> str:
    return (resources.files("edx_xblock") / "static" / name).read_text(encoding="utf-8")


def _pick(texts: dict[str, str], lang: str, fallbacks: list[str]) -> str:
    """A language map's text in ``lang``, else in the course languages' order, else any."""
    for candidate in [lang, *fallbacks, "en"]:
        if texts.get(candidate):
            return texts[candidate]
    return next(iter(texts.values()), "")


@XBlock.needs("i18n", "user")
@XBlock.wants("settings", "studio_user_permissions")
class EdcCredentialBlock(XBlock):
    """Describes the course's European Digital Credential and shows each learner where theirs stands."""

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
                               help="Version the sidecar gave the last template pushed")

    # ----- helpers -----------------------------------------------------------------------------
    def _gettext(self) -> Any:
        return translation(self._language()).gettext

    def _language(self) -> str:
        return current_language(self.runtime.service(self, "i18n"))

    def _config(self) -> BridgeConfig:
        settings_service = self.runtime.service(self, "settings")
        bucket = settings_service.get_settings_bucket(self) if settings_service is not None else None
        return django_config(bucket if isinstance(bucket, dict) else None)

    def _client(self) -> SidecarClient:
        return SidecarClient(self._config())

    def course_key(self) -> str | None:
        """The course id as the plugin app reports completions (``str(course_key)``)."""
        key = getattr(self.scope_ids.usage_id, "context_key", None) or getattr(self, "course_id", None)
        return str(key) if key else None

    def learner_id(self) -> str | None:
        """The current user's LMS id (the id openedx-events carry), or None when nobody is logged in."""
        user = self.runtime.service(self, "user").get_current_user()
        attrs = getattr(user, "opt_attrs", {}) or {}
        for key in ("edx-platform.user_id", "xblock-workbench.user_id"):
            value = attrs.get(key)
            if value not in (None, ""):
                return str(value)
        return None

    def may_edit(self) -> bool:
        """Whether the current user may change the credential (course handlers are reachable by learners too).

        Studio provides ``studio_user_permissions``; in the LMS only global staff may; runtimes that are
        neither (the SDK workbench) have no notion of roles.
        """
        permissions = self.runtime.service(self, "studio_user_permissions")
        course = self.course_key()
        if permissions is not None:
            from opaque_keys.edx.keys import CourseKey

            return course is not None and bool(permissions.can_write(CourseKey.from_string(course)))
        attrs = getattr(self.runtime.service(self, "user").get_current_user(), "opt_attrs", {}) or {}
        if "edx-platform.user_id" in attrs:
            return bool(attrs.get("edx-platform.user_is_staff"))
        return True

    def field_values(self) -> dict[str, Any]:
        return {"display_name": self.display_name, "languages": list(self.languages), "title": dict(self.title),
                "description": dict(self.description), "ects": self.ects, "eqf_level": self.eqf_level,
                "isced_f": self.isced_f, "mode": self.mode, "learning_setting": self.learning_setting,
                "volume_hours": self.volume_hours, "outcomes": list(self.outcomes)}

    def _render(self, template: str, **context: Any) -> str:
        return _ENGINE.get_template(template).render(Context(context))

    # ----- learner -----------------------------------------------------------------------------
    def current_status(self) -> LearnerStatus | None:
        """The learner's state, or None for anonymous/preview users; sidecar trouble reads as 'unknown'."""
        learner, course = self.learner_id(), self.course_key()
        if learner is None or course is None:
            return None
        queued = _queued_in_outbox(course, learner)
        try:
            return learner_status(self._client().credentials_for(course, learner), queued=queued)
        except (SidecarError, ConfigError) as exc:
            log.warning("credential status unavailable for course %s: %s", course, exc)
            return LearnerStatus("unknown")

    def student_view(self, context: dict[str, Any] | None = None) -> Fragment:
        """Outcomes with their ESCO skills, and the learner's credential state with what to do next."""
        _ = self._gettext()
        lang = self._language()
        course_langs = list(self.languages)
        status = self.current_status()
        europass = None
        if status is not None and status.state == ISSUED:
            try:
                europass = status.wallet_url or self._config().europass_url
            except ConfigError:
                europass = None
        outcomes = [{"text": _pick(o.get("text", {}), lang, course_langs),
                     "skills": [{"uri": s["uri"], "label": _pick(s.get("labels", {}), lang, course_langs)
                                 or s["uri"].rsplit("/", 1)[-1]} for s in o.get("esco_skills", [])]}
                    for o in self.outcomes]
        html = self._render(
            "student.html", block_title=self.display_name, title=_pick(self.title, lang, course_langs),
            description=_pick(self.description, lang, course_langs), outcomes=outcomes,
            status=status.to_dict() if status else None, messages=_student_messages(_, self._support()),
            download_url=self.runtime.handler_url(self, "download") if status and status.credential_id else "",
            europass_url=europass, lang=lang)
        frag = Fragment(html)
        frag.add_css(_static("css/edc_credential.css"))
        frag.add_javascript(_static("js/student.js"))
        frag.initialize_js("EdcCredentialStudent", {"status_url": self.runtime.handler_url(self, "status"),
                                                     "state": status.state if status else None})
        return frag

    def _support(self) -> str:
        try:
            return self._config().support_contact
        except ConfigError:
            return ""

    @XBlock.json_handler
    def status(self, _data: Any, _suffix: str = "") -> dict[str, Any]:
        """The learner's state for the page to refresh itself while a credential is being issued."""
        status = self.current_status()
        return status.to_dict() if status else {"state": None}

    @XBlock.handler
    def download(self, request: Any, _suffix: str = "") -> Response:
        """The current learner's sealed file; the credential id is never taken from the request."""
        _ = self._gettext()
        status = self.current_status()
        if status is None or status.credential_id is None or status.state not in (ISSUED, "delivery_failed"):
            return Response(_("No sealed credential is available for you in this course."), status=404,
                            content_type="text/plain", charset="utf-8")
        try:
            sealed = self._client().sealed(status.credential_id)
        except (SidecarError, ConfigError):
            return Response(_("The credential service is not reachable right now; try again later."),
                            status=503, content_type="text/plain", charset="utf-8")
        return Response(sealed, content_type="application/ld+json", content_disposition=(
            f'attachment; filename="credential-{status.credential_id}.jsonld"'))

    # ----- course team -------------------------------------------------------------------------
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
        html = self._render("studio.html", modes=MODES, settings=LEARNING_SETTINGS, config_error=config_error,
                            template_version=self.template_version, labels=_studio_labels(_))
        frag = Fragment(html)
        frag.add_css(_static("css/edc_credential.css"))
        frag.add_javascript(_static("js/studio.js"))
        frag.initialize_js("EdcCredentialStudio", {
            "values": self.field_values(), "lang": self._language(),
            "save_url": self.runtime.handler_url(self, "save_settings"),
            "search_url": self.runtime.handler_url(self, "search_skills"),
            "strings": _studio_strings(_)})
        return frag

    @XBlock.json_handler
    def search_skills(self, data: Any, _suffix: str = "") -> dict[str, Any]:
        """Type-ahead: ESCO skills matching ``q`` in the teacher's language (or ``lang``)."""
        _ = self._gettext()
        if not self.may_edit():
            return {"results": [], "errors": [{"field": "q", "message": _("Only the course team may do this.")}]}
        q = data.get("q") if isinstance(data, dict) else None
        lang = data.get("lang") if isinstance(data, dict) and data.get("lang") else self._language()
        if not isinstance(q, str) or len(q.strip()) < SEARCH_MIN_CHARS:
            return {"results": [], "errors": [{"field": "q", "message": _(
                "Type at least {n} characters.").format(n=SEARCH_MIN_CHARS)}]}
        try:
            answer = self._client().search_skills(q.strip(), str(lang)[:2], SEARCH_LIMIT)
        except SidecarRejected as exc:
            return {"results": [], "errors": exc.errors or [{"field": "q", "message": exc.detail}]}
        except (SidecarUnavailable, ConfigError):
            return {"results": [], "errors": [{"field": "q", "message": _(
                "The ESCO search is not reachable right now; try again later.")}]}
        return {"lang": answer.get("lang", lang),
                "results": [{"uri": h["uri"], "label": h.get("label") or h["uri"]}
                            for h in answer.get("results", []) if isinstance(h, dict) and h.get("uri")]}

    @XBlock.json_handler
    def save_settings(self, data: Any, _suffix: str = "") -> dict[str, Any]:
        """Validate, push the template to the sidecar, and only then store the fields (all or nothing)."""
        _ = self._gettext()
        if not self.may_edit():
            return {"result": "error", "errors": [{"field": "", "message": _("Only the course team may do this.")}]}
        form = validate_form(data, _)
        if form.errors:
            return {"result": "error", "errors": form.errors}
        try:
            config = self._config()
        except ConfigError as exc:
            return {"result": "error", "errors": [{"field": "", "message": str(exc)}]}
        if not config.awarding_body:
            return {"result": "error", "errors": [{"field": "", "message": _(
                "EDC_BRIDGE['AWARDING_BODY'] is not set: ask the platform administrator.")}]}
        course = self.course_key()
        if course is None:
            return {"result": "error", "errors": [{"field": "", "message": _("This block is not in a course.")}]}
        client = SidecarClient(config)
        _complete_labels(client, form.values["outcomes"], form.values["languages"])
        template = build_template(form.values, config.awarding_body, config.assessment, config.policy)
        try:
            stored = client.put_template(course, template)
        except SidecarRejected as exc:
            return {"result": "error", "errors": exc.errors or [{"field": "", "message": exc.detail}]}
        except SidecarUnavailable:
            return {"result": "error", "errors": [{"field": "", "message": _(
                "The credential service is not reachable: nothing was saved, try again later.")}]}
        for name, value in form.values.items():
            setattr(self, name, value)
        self.template_version = stored.get("version")
        return {"result": "saved", "template_version": self.template_version, "esco": stored.get("esco") or {}}

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

    Best effort: when the lookup fails the labels stay as chosen, and the sidecar still labels the
    credential from its own ESCO data at issuance.
    """
    for outcome in outcomes:
        for skill in outcome["esco_skills"]:
            if all(skill["labels"].get(lang) for lang in languages):
                continue
            try:
                found = client.skill(skill["uri"].rsplit("/", 1)[-1])
            except SidecarError:
                continue
            labels = found.get("pref_label") if isinstance(found.get("pref_label"), dict) else {}
            skill["labels"] = {**{k: v for k, v in labels.items() if k in languages and isinstance(v, str)},
                               **skill["labels"]}


def _queued_in_outbox(course: str, learner: str) -> bool:
    """Whether the plugin app (when installed) still holds an unsent completion for this learner."""
    from django.apps import apps

    if not apps.is_installed("edx_xblock.plugin"):
        return False
    from edx_xblock.plugin.outbox import is_queued

    return is_queued(course, learner)


def _student_messages(_: Any, support: str) -> dict[str, str]:
    contact = _(" Contact {contact}.").format(contact=support) if support else ""
    return {
        "not_earned": _("Pass the course to earn this credential."),
        "issuing": _("You passed: your credential is being issued. This page updates by itself."),
        "issued": _("Your credential is issued and sealed."),
        "delivery_failed": _("Your credential is issued, but it could not be sent to you. Download it here "
                             "and upload it to your Europass wallet yourself.") + contact,
        "issue_failed": _("Your credential could not be issued yet.") + contact,
        "revoked": _("This credential was revoked.") + contact,
        "unknown": _("The credential status cannot be shown right now; try again later."),
        "download": _("Download the sealed credential"),
        "europass": _("Open Europass"),
        "outcomes": _("This credential attests that you can:"),
        "skills": _("ESCO skills"),
    }


def _studio_labels(_: Any) -> dict[str, str]:
    return {"heading": _("European Digital Credential"), "display_name": _("Block name"),
            "languages": _("Languages of the credential (two-letter codes, separated by spaces)"),
            "title": _("Title"), "description": _("Description"), "ects": _("ECTS credits"),
            "eqf_level": _("EQF level (1–8)"), "isced_f": _("ISCED-F field code"),
            "mode": _("Mode of learning"), "learning_setting": _("Learning setting"),
            "volume": _("Volume of learning (hours)"), "outcomes": _("Learning outcomes"),
            "outcomes_help": _("Describe what learners can do, and tag each outcome with 1 to 3 ESCO skills."),
            "save": _("Save"), "cancel": _("Cancel"), "version": _("Template version in the credential service:")}


def _studio_strings(_: Any) -> dict[str, str]:
    return {"saving": _("Saving…"), "saved": _("Saved and sent to the credential service."),
            "errors": _("Some fields need attention."), "remove": _("Remove"), "searching": _("Searching…"),
            "no_results": _("No ESCO skill found."), "add_outcome": _("Add an outcome"),
            "search_skill": _("Search an ESCO skill"),
            "max_skills": _("At most 3 skills per outcome."), "unknown_skills": _("Unknown ESCO skills:"),
            "obsolete_skills": _("Obsolete ESCO skills:")}
