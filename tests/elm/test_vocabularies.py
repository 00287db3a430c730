"""Code-list labels in the reader's language: every displayed code has a French label."""
from __future__ import annotations

from babel.messages.pofile import read_po

from bridge.elm import codelists, vocabularies
from bridge.l10n import CATALOGUE_DIR

ISCED = "http://data.europa.eu/snb/isced-f/"


def test_every_displayed_code_has_a_french_label() -> None:
    with open(CATALOGUE_DIR / "fr" / "LC_MESSAGES" / "codelists.po", "rb") as handle:
        catalogue = read_po(handle)
    english = {text for name in vocabularies.DISPLAYED for text in codelists.load(name).labels.values()}
    translated = {m.id for m in catalogue if m.id and m.string}
    assert english <= translated
    for name in vocabularies.DISPLAYED:
        for uri in codelists.load(name).labels:
            assert vocabularies.label(uri, "fr")


def test_labels_follow_the_reader() -> None:
    assert vocabularies.label(ISCED + "0613", "fr") == "Conception et analyse de logiciels et d'applications"
    assert vocabularies.label(ISCED + "0613", "en") == "Software and applications development and analysis"
    assert vocabularies.label(ISCED + "0613", "pt") == "Software and applications development and analysis"
    assert vocabularies.label("http://data.europa.eu/snb/eqf/6", "fr") == "Niveau 6"
    assert vocabularies.label(codelists.LEARNING_SETTING_CODES["non-formal"], "fr") == "apprentissage non formel"
    assert vocabularies.label(codelists.MODE_CODES["online"], "fr") == "En ligne"
    language = codelists.language_concept("en")["id"]
    assert (vocabularies.label(language, "fr"), vocabularies.label(language, "de")) == ("anglais", "Englisch")
    assert vocabularies.label(codelists.country_concept("FR")["id"], "de") == "Frankreich"
    assert vocabularies.label("http://example.org/unknown", "fr") is None
    assert vocabularies.label(None, "fr") is None
