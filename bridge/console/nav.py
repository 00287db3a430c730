"""The console's navigation: sections plug in here with the permission that shows them.

A new section (the recognition desk, the MCRA register...) registers itself once, at import::

    register_section(Section("recognition", N_("Recognition"), "recognition.desk", RECOGNITION_READ, 60))

and appears in the menu of exactly the people whose roles grant that permission. Titles are
English msgids marked with ``N_`` (so Babel extracts them) and translated when the menu is drawn.
"""
from __future__ import annotations

from dataclasses import dataclass


def N_(message: str) -> str:  # noqa: N802 - gettext's conventional no-op marker
    """Mark a string for extraction; it is translated where it is shown."""
    return message


@dataclass(frozen=True)
class Section:
    key: str
    title: str           # English msgid, marked with N_
    endpoint: str        # Flask endpoint of the section's first page
    permission: str      # bridge.console.roles permission that shows the section
    order: int = 100


_SECTIONS: dict[str, Section] = {}


def register_section(section: Section) -> None:
    """Add (or replace, by key) a menu entry."""
    _SECTIONS[section.key] = section


def sections() -> list[Section]:
    return sorted(_SECTIONS.values(), key=lambda s: (s.order, s.key))
