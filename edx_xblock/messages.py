"""Every text the block shows, translated through the runtime's i18n service (``_`` is its gettext).

Kept in one module so translators find them together and the pages, the handlers and the JavaScript
(which receives them already translated) say the same thing.
"""
from __future__ import annotations

from collections.abc import Callable

from edx_xblock.i18n import noop as N_

Translate = Callable[[str], str]

MODE_LABELS = {"online": N_("Online"), "blended": N_("Blended (online and face-to-face)"),
               "presential": N_("Face-to-face"), "work-based": N_("Work-based"),
               "project-based": N_("Project-based"), "research-lab-based": N_("Research lab")}
SETTING_LABELS = {"formal": N_("Formal (leads to a recognised qualification)"), "non-formal": N_("Non-formal")}


def options(_: Translate, labels: dict[str, str]) -> list[dict[str, str]]:
    return [{"value": value, "label": _(label)} for value, label in labels.items()]


def learner(_: Translate, support: str) -> dict[str, str]:
    contact = _(" Contact {contact}.").format(contact=support) if support else ""
    return {
        "not_earned": _("Pass the course to earn this credential."),
        "issuing": _("You passed: your credential is being issued. This page updates by itself."),
        "checking": _("Checking your credential…"),
        "issued": _("Your credential is issued and sealed."),
        "delivery_failed": _("Your credential is issued, but it could not be sent to you. Download it here "
                             "and upload it to your Europass wallet yourself.") + contact,
        "issue_failed": _("Your credential could not be issued yet.") + contact,
        "refused": _("You passed, but your credential could not be issued. Please contact the course team.")
        + contact,
        "ineligible": _("Your enrollment track does not lead to this credential. Upgrade your enrollment "
                        "to earn it."),
        "revoked": _("This credential was revoked.") + contact,
        "unknown": _("The credential status cannot be shown right now; try again later."),
        "reason": _("Reason (shown to course staff only):"),
        "download": _("Download the sealed credential"),
        "europass": _("Open Europass"),
        "outcomes": _("This credential attests that you can:"),
        "skills": _("ESCO skills"),
    }


def author(_: Translate) -> dict[str, str]:
    return {
        "not_published": _("Not sent to the credential service yet: publish the unit to send it."),
        "pushing": _("Being sent to the credential service…"),
        "pushed": _("Sent to the credential service (version {version})."),
        "refused": _("The credential service refused the published version:"),
        "unreachable": _("The credential service could not be reached; it will be tried again."),
        "removed": _("No published credential component: learners of this course earn no credential."),
        "no_plugin": _("The EDC Bridge plugin app is not installed on this platform."),
    }


def no_outcomes(_: Translate) -> str:
    """The hint shown while a credential has no learning outcome (allowed: it still issues)."""
    return _("No learning outcome: the credential will be issued without learning outcomes or ESCO skills. "
             "Add outcomes so that employers and the Europass wallet see what learners can do.")


def studio_labels(_: Translate) -> dict[str, str]:
    return {"heading": _("European Digital Credential"), "display_name": _("Block name"),
            "languages": _("Languages of the credential (two-letter codes, separated by spaces)"),
            "title": _("Title"), "description": _("Description"), "ects": _("ECTS credits"),
            "eqf_level": _("EQF level (1–8)"), "isced_f": _("ISCED-F field code"),
            "mode": _("Mode of learning"), "learning_setting": _("Learning setting"),
            "volume": _("Volume of learning (hours)"), "outcomes": _("Learning outcomes"),
            "outcomes_help": _("Describe what learners can do, and tag each outcome with 1 to 3 ESCO skills."),
            "no_outcomes": no_outcomes(_),
            "save": _("Save"), "cancel": _("Cancel"), "version": _("Template version in the credential service:")}


def studio_strings(_: Translate) -> dict[str, str]:
    return {"saving": _("Saving…"), "saved": _("Saved. Publish the unit to send it to the credential service."),
            "errors": _("Some fields need attention."), "remove": _("Remove"), "searching": _("Searching…"),
            "no_results": _("No ESCO skill found."), "add_outcome": _("Add an outcome"),
            "search_skill": _("Search an ESCO skill"), "results": _("{n} skills found; use the arrow keys."),
            "chosen": _("Chosen: {label}"), "removed": _("Removed: {label}"),
            "max_skills": _("At most 3 skills per outcome."),
            "failed": _("The server answered {status}: nothing was saved. Try again, or reload the page."),
            "network": _("The server could not be reached: nothing was saved."),
            "remove_skill": _("Remove the skill {label}"),
            "skill_in": _("(in {lang})")}
