"""Text folding shared by the index and the queries.

Teachers type "competence" for "compétence", "s adapter" or "sadapter" for "s'adapter", and type
half a word while the list updates; folding both sides the same way makes those queries meet the
labels without any per-language rules.
"""
from __future__ import annotations

import re
import unicodedata

# Straight, typographic and modifier apostrophes all occur in ESCO labels and in user input.
_APOSTROPHES = "'\u2019\u2018\u02bc\u02b9`\u00b4"
_APOSTROPHE_RE = re.compile(f"[{_APOSTROPHES}]")
_WORD_RE = re.compile(r"[^\W_]+")
# Combining diacritical marks (the blocks used by European scripts), removed after NFKD.
_COMBINING_RE = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")

# Words too common to be required in a query: "adapting to the change" should still find
# "adapt to change". They still count towards ranking when present.
STOPWORDS = frozenset(
    "a an and as at by for from in into of on or the to with "
    "au aux d de des du en et l la le les ou par pour s sur un une".split()
)


def fold(text: str) -> str:
    """Lower-case, strip accents (NFKD minus combining marks) and unify apostrophes to "'".

    Non-Latin scripts (ESCO also ships bg, el, ...) keep their letters; only the marks go.
    """
    folded = text.casefold()
    if not folded.isascii():
        folded = _COMBINING_RE.sub("", unicodedata.normalize("NFKD", folded))
        folded = folded.replace("\u0153", "oe").replace("\u00e6", "ae")
    return _APOSTROPHE_RE.sub("'", folded)


def words(text: str) -> list[str]:
    """Words of a folded text, apostrophes acting as separators ("s'adapter" -> s, adapter)."""
    return _WORD_RE.findall(fold(text))


def index_tokens(text: str) -> set[str]:
    """Tokens to index for a label: its words plus each apostrophe-joined form ("sadapter").

    Indexing the joined form lets a query typed without the apostrophe match as well.
    """
    folded = fold(text)
    tokens = set(_WORD_RE.findall(folded))
    for chunk in folded.split():
        if "'" in chunk:
            joined = "".join(_WORD_RE.findall(chunk))
            if joined:
                tokens.add(joined)
    return tokens


def phrase(text: str) -> str:
    """Canonical form of a whole label or query, for exact and prefix phrase comparisons."""
    return " ".join(words(text))
