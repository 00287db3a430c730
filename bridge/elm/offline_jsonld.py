"""JSON-LD -> RDF without network access.

ELM credentials name their contexts by URL. Fetching them at verification time would make
validation depend on (and leak usage to) remote servers, and fail offline, so the two known
contexts are shipped in ``data/context`` and substituted before rdflib parses the document.
A context URL we do not ship is refused rather than fetched.
"""

from __future__ import annotations

import json
import logging
from functools import cache
from importlib import resources
from typing import Any

from rdflib import Graph

CONTEXT_FILES = {
    "https://www.w3.org/2018/credentials/v1": "w3c-credentials-v1.jsonld",
    "http://data.europa.eu/snb/model/context/edc-ap": "edc-ap-context.jsonld",
}


class _DropLiteralConversionNoise(logging.Filter):
    """rdflib logs ill-typed literals with their lexical form, which may be personal data (a
    date of birth); the SHACL report already names the field, so these records are dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Failed to convert Literal lexical form")


logging.getLogger("rdflib.term").addFilter(_DropLiteralConversionNoise())


class UnknownContext(ValueError):
    """The document refers to a JSON-LD context that is not shipped (and will not be fetched)."""


@cache
def context_document(url: str) -> Any:
    name = CONTEXT_FILES[url]
    text = resources.files("bridge.elm").joinpath("data", "context", name).read_text("utf-8")
    return json.loads(text)["@context"]


def _inline(value: Any) -> Any:
    if isinstance(value, str):
        if value not in CONTEXT_FILES:
            raise UnknownContext(f"JSON-LD context {value!r} is not available offline")
        return context_document(value)
    if isinstance(value, list):
        return [_inline(v) for v in value]
    return value


def _substitute(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: (_inline(v) if k == "@context" else _substitute(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute(v) for v in node]
    return node


def to_graph(document: dict[str, Any]) -> Graph:
    """Parse a JSON-LD document into a new rdflib Graph using only the shipped contexts."""
    graph = Graph()
    graph.parse(data=json.dumps(_substitute(document)), format="json-ld")
    return graph


class UnreadableJsonLd(ValueError):
    """A document a validator cannot turn into RDF; the message is one finished report line."""


def graph_for_validation(document: dict[str, Any]) -> Graph:
    """``to_graph`` for the SHACL validators: every parse failure becomes ``UnreadableJsonLd``.

    The credential and learning-opportunity validators report unreadable input the same way,
    as a finding naming where the problem is, never as an exception escaping to the caller.
    """
    try:
        return to_graph(document)
    except UnknownContext as exc:
        raise UnreadableJsonLd(f"@context: {exc}") from None
    except Exception as exc:  # rdflib raises many types on malformed JSON-LD
        raise UnreadableJsonLd(f"(document): not parseable as JSON-LD ({type(exc).__name__})") from None
