"""Translation catalogues: complete, compiled, in step with the templates, placeholders intact."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from bridge.delivery.i18n import CATALOGUE_DIR, available_languages, negotiate

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
LANGUAGES = sorted(p.parent.parent.name for p in CATALOGUE_DIR.glob("*/LC_MESSAGES/messages.po"))


def load_po(path: Path):
    with path.open("rb") as handle:
        return read_po(handle)


@pytest.mark.parametrize(("tag", "expected"), [
    ("fr", "fr"), ("fr-BE", "fr"), ("FR_fr", "fr"), ("de-AT", "de"), ("en-GB", "en"),
    ("pt-BR", "en"), ("", "en"), (None, "en"), ("../../etc", "en"),
])
def test_negotiate(tag, expected):
    assert negotiate(tag) == expected


def test_at_least_english_and_french():
    assert {"en", "fr"} <= available_languages()
    assert "fr" in LANGUAGES


def test_template_pot_is_up_to_date(tmp_path):
    """Forgetting `scripts/i18n.sh update` after changing a template would ship untranslated text."""
    fresh = tmp_path / "messages.pot"
    pybabel = Path(sys.executable).with_name("pybabel")
    subprocess.run([str(pybabel), "-q", "extract", "-F", "babel.cfg", "--no-location", "-o", str(fresh), "bridge"],
                   cwd=ROOT, check=True, capture_output=True)
    expected = {m.id for m in load_po(fresh) if m.id}
    committed = {m.id for m in load_po(CATALOGUE_DIR / "messages.pot") if m.id}
    assert committed == expected


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalogue_is_complete_and_placeholders_match(lang):
    template_ids = {m.id for m in load_po(CATALOGUE_DIR / "messages.pot") if m.id}
    catalogue = load_po(CATALOGUE_DIR / lang / "LC_MESSAGES" / "messages.po")
    translated = {m.id: m.string for m in catalogue if m.id and not m.fuzzy}
    assert set(translated) >= template_ids
    for msgid, msgstr in translated.items():
        assert msgstr, f"{lang}: untranslated {msgid!r}"
        assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(msgstr)), msgid


@pytest.mark.parametrize("lang", LANGUAGES)
def test_compiled_catalogue_matches_its_source(lang):
    folder = CATALOGUE_DIR / lang / "LC_MESSAGES"
    source = {m.id: m.string for m in load_po(folder / "messages.po") if m.id and not m.fuzzy}
    with (folder / "messages.mo").open("rb") as handle:
        compiled = {m.id: m.string for m in read_mo(handle) if m.id}
    assert compiled == source
