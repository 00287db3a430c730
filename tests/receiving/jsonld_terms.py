"""What a JSON-LD reader keeps of our documents, checked with pyld against the official ELM context.

JSON-LD expansion silently drops every key its context does not define (``modified`` used to vanish
that way). :func:`dropped_properties` expands a document with pyld, the official context files served
by an offline loader, and compares the properties of every node before and after: whatever the
expanded form lacks is named.
"""
from __future__ import annotations

import json
from functools import cache
from typing import Any

from tests.reference import ELM_REFERENCE

CONTEXTS = {
    "http://data.europa.eu/snb/model/context/edc-ap": ELM_REFERENCE / "context" / "edc-ap-context.jsonld",
    "https://www.w3.org/2018/credentials/v1": ELM_REFERENCE / "context" / "w3c-credentials-v1.jsonld",
}


@cache
def _context_file(url: str) -> Any:
    return json.loads(CONTEXTS[url].read_text("utf-8"))


def _loader(url: str, options: Any = None) -> dict[str, Any]:
    if url not in CONTEXTS:
        raise ValueError(f"context {url} is not an official ELM context")
    return {"contextUrl": None, "documentUrl": url, "document": _context_file(url)}


def _terms(context: Any) -> dict[str, Any]:
    """The term definitions of a (list of) context(s), URLs resolved to the official files."""
    terms: dict[str, Any] = {}
    for item in context if isinstance(context, list) else [context]:
        if isinstance(item, str):
            item = _context_file(item)["@context"]
        terms.update(item)
    return terms


def _compact_properties(node: Any, terms: dict[str, Any], out: list[str]) -> None:
    if isinstance(node, list):
        for item in node:
            _compact_properties(item, terms, out)
        return
    if not isinstance(node, dict) or "@value" in node:
        return
    for key, value in node.items():
        if key == "@graph":
            _compact_properties(value, terms, out)
            continue
        definition = terms.get(key)
        if key.startswith("@") or definition in ("@id", "@type"):
            continue
        out.append(key)
        if isinstance(definition, dict) and definition.get("@container") == "@language":
            continue  # a language map, not nodes
        _compact_properties(value, terms, out)


def _expanded_properties(node: Any, out: list[str]) -> None:
    if isinstance(node, list):
        for item in node:
            _expanded_properties(item, out)
        return
    if not isinstance(node, dict) or "@value" in node:
        return
    for key, value in node.items():
        if key in ("@graph", "@list", "@set"):
            _expanded_properties(value, out)
        elif not key.startswith("@"):
            out.append(key)
            _expanded_properties(value, out)


def dropped_properties(document: dict[str, Any]) -> list[str]:
    """The keys of ``document`` (at any depth) that JSON-LD expansion with the official context drops."""
    from pyld import jsonld

    terms = _terms(document["@context"])
    before: list[str] = []
    _compact_properties(document, terms, before)
    expanded = jsonld.expand(document, {"documentLoader": _loader})
    after: list[str] = []
    _expanded_properties(expanded, after)
    if len(after) == len(before):
        return []
    undefined = [k for k in before if k not in terms and k.split(":", 1)[0] not in terms and "://" not in k]
    return undefined or [f"{len(before) - len(after)} unnamed propert(ies)"]
