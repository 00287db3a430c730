"""Moodle multi-language text → ELM language maps, the way Moodle's own filters read it.

Moodle keeps translations inside one text. Two syntaxes are in use:

* core ``filter_multilang``: a *block* of two or more adjacent
  ``<span lang="xx" class="multilang">…</span>`` (attributes in either order); a lone span is not a
  block and Moodle shows it to everybody. A reader whose language is missing from a block gets the
  parent language, then English, then the block's first translation.
* ``filter_multilang2``: ``{mlang xx}…{mlang}``, ``{mlang xx,yy}…{mlang}`` and ``{mlang other}``;
  each block shows for its languages (or their parents) only, and ``other`` shows when no block of
  the text matched the reader's language.

Text outside the blocks belongs to every language. So a language map is built by *rendering* the
text once per language that the markup names, exactly as a reader of that language would see it,
then reducing it to plain text. Web Services must be asked for the raw text
(``moodlewssettingraw=1``): otherwise Moodle strips the markup and the languages run together.

The same rules are implemented by the plugin (``classes/local/multilang.php``) and checked by the
shared vectors in ``tests/moodle/vectors/rules.json``; change both together.
"""
from __future__ import annotations

import re
from html.entities import html5

# The languages EDC Bridge's language maps accept (the EU language authority list the sidecar
# knows). Text in another language cannot be carried on a credential, so it is left out.
SUPPORTED_LANGUAGES: frozenset[str] = frozenset(
    "bg cs da de el en es et fi fr ga hr hu it lt lv mt nl pl pt ro sk sl sv is no tr mk sr ca eu gl uk sq"
    .split())

_MLANG = re.compile(
    r"\{\s*mlang\s+((?:[a-z0-9_-]+)(?:\s*,\s*[a-z0-9_-]+\s*)*)\s*\}(.*?)\{\s*mlang\s*\}",
    re.IGNORECASE | re.DOTALL | re.ASCII)
_SPAN_ATTRS = r'(?:\s+lang="[a-zA-Z0-9_-]+"|\s+class="multilang"){2}\s*'
_SPAN_BLOCK = re.compile(rf"(<span{_SPAN_ATTRS}>.*?</span>)(\s*<span{_SPAN_ATTRS}>.*?</span>)+",
                         re.IGNORECASE | re.DOTALL | re.ASCII)
_SPAN_ONE = re.compile(r'<span[^>]+lang="([a-zA-Z0-9_-]+)"[^>]*>(.*?)</span>',
                       re.IGNORECASE | re.DOTALL | re.ASCII)
_SCRIPT = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL | re.ASCII)
_TAG = re.compile(r"<[^>]*>")
_ENTITY = re.compile(r"&(#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_SPACE = re.compile("[ \t\n\r\f\x0b\u00a0]+")
_TRIM = " \t\n\r\x00\x0b"  # what PHP's trim() removes, so both implementations agree


def normalise_code(code: str) -> str:
    """Moodle's form of a language code: lower case, ``_`` as separator (``fr-CA`` → ``fr_ca``)."""
    return code.strip(_TRIM).lower().replace("-", "_")


def language_code(moodle_lang: str | None) -> str | None:
    """``fr_ca`` → ``fr``: ELM language maps are keyed by ISO 639-1 codes; None if not supported."""
    if not moodle_lang:
        return None
    primary = normalise_code(moodle_lang).split("_")[0]
    return primary if primary in SUPPORTED_LANGUAGES else None


def _parents(code: str) -> list[str]:
    """Parent languages of a Moodle code, nearest first (``de_ch_formal`` → ``de_ch``, ``de``)."""
    parts = code.split("_")
    return ["_".join(parts[:i]) for i in range(len(parts) - 1, 0, -1)]


def _decode_entity(match: re.Match[str]) -> str:
    body = match.group(1)
    if body.startswith("#"):
        number = int(body[2:], 16) if body[1] in "xX" else int(body[1:])
        if number == 0 or number > 0x10FFFF or 0xD800 <= number <= 0xDFFF:
            return "\ufffd"
        return chr(number)
    return html5.get(body + ";", match.group(0))


def plain_text(value: str) -> str:
    """HTML → one line of text: scripts, tags and control characters out, entities decoded,
    spaces (no-break spaces included) folded to one."""
    text = _TAG.sub(" ", _SCRIPT.sub(" ", value))
    text = _ENTITY.sub(_decode_entity, text)
    return _SPACE.sub(" ", _CONTROL.sub("", text)).strip(" ")


def _render_mlang(text: str, lang: str) -> str:
    """``filter_multilang2`` for a reader of ``lang``: matching blocks kept, others emptied."""
    wanted = {lang, *_parents(lang)}
    matched = False

    def pick(target: set[str]):  # noqa: ANN202 (a re.sub callback)
        def replace(match: re.Match[str]) -> str:
            nonlocal matched
            codes = {normalise_code(c) for c in match.group(1).replace(" ", "").split(",")}
            if codes & target:
                matched = True
                return match.group(2)
            return ""
        return replace

    result = _MLANG.sub(pick(wanted), text)
    if matched:
        return result
    return _MLANG.sub(pick({"other"}), text)


def _render_spans(text: str, lang: str) -> str:
    """Core ``filter_multilang`` for a reader of ``lang`` (parents, then English, then the first)."""
    chain = [lang, *_parents(lang)]
    if "en" not in chain:
        chain.append("en")

    def replace(match: re.Match[str]) -> str:
        found: dict[str, str] = {}
        for code, inner in _SPAN_ONE.findall(match.group(0)):
            found[normalise_code(code)] = inner  # a repeated language: the last one, as Moodle does
        if not found:
            return match.group(0)
        for candidate in chain:
            if candidate in found:
                return found[candidate]
        return next(iter(found.values()))

    return _SPAN_BLOCK.sub(replace, text)


def tagged_languages(text: str) -> tuple[list[str], bool]:
    """Moodle language codes named by the text's multilang markup, in order of appearance (mlang
    blocks first), and whether an ``{mlang other}`` block is present."""
    codes: list[str] = []
    for match in _MLANG.finditer(text):
        codes.extend(normalise_code(code) for code in match.group(1).replace(" ", "").split(","))
    for block in _SPAN_BLOCK.finditer(text):
        codes.extend(normalise_code(code) for code, _ in _SPAN_ONE.findall(block.group(0)))
    seen: dict[str, None] = {}
    for code in codes:
        if code and code != "other":
            seen.setdefault(code, None)
    return list(seen), "other" in codes


def render(text: str, lang: str) -> str:
    """The plain text a reader whose Moodle language is ``lang`` sees."""
    return plain_text(_render_spans(_render_mlang(text, normalise_code(lang)), normalise_code(lang)))


def language_map(value: str | None, default_lang: str) -> tuple[dict[str, str], list[str]]:
    """Split multilang markup into ``{iso code: plain text}``; also return the languages left out.

    Unmarked text belongs to ``default_lang`` (the course language). Marked text gets one entry per
    language its markup names (``fr_ca`` counts as ``fr`` unless ``fr`` itself is present), plus
    ``default_lang`` when an ``{mlang other}`` block provides text for it. Languages EDC does not
    support are returned in the second list so that callers can warn about them.
    """
    if not value:
        return {}, []
    default = normalise_code(default_lang)
    tagged, has_other = tagged_languages(value)
    if not tagged and not has_other:
        text = plain_text(value)
        code = language_code(default)
        if not text:
            return {}, []
        return ({code: text}, []) if code else ({}, [default])
    readers = list(tagged)
    if has_other and default not in readers:
        readers.append(default)
    found: dict[str, str] = {}
    exact: set[str] = set()
    dropped: list[str] = []
    for reader in readers:
        code = language_code(reader)
        if code is None:
            dropped.append(reader)
            continue
        text = render(value, reader)
        if not text:
            continue
        if code not in found or (reader == code and code not in exact):
            found[code] = text
        if reader == code:
            exact.add(code)
    return found, dropped


def truncate(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a word boundary and ending with ``…`` when cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ") + "…"


def trim(value: str) -> str:
    """PHP's ``trim()``: the plugin trims with it, so the poller trims the same characters."""
    return value.strip(_TRIM)
