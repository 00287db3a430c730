"""EU trusted lists (ETSI TS 119 612) as trust anchors, through pyHanko's ``validation.qualified``.

``edc-bridge trust update`` calls :func:`update`: it downloads the List of Trusted Lists (LOTL),
checks its XML signature against the LOTL signing certificates (pyHanko's bundled ones, or the
operator's), then downloads every national list the LOTL points to and checks each one's signature
against the certificates the LOTL names for it. A list whose signature does not check out is refused
with a clear message and contributes nothing. The lists are kept in a folder until their NextUpdate.

:func:`anchors_from_cache` reads that folder (checking every signature again: the folder is only a
cache) into :class:`~sealer.validation.anchors.TrustAnchors`: the certificates of the services granted
for qualified certificates (CA/QC) anchor seals, those of qualified time-stamping services (QTST)
anchor TSAs, and pyHanko's registry answers whether a seal is a *qualified electronic seal* — a QSealC
under a CA/QC service granted at the time of sealing (:func:`qualification`).
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.qualified import eutl_parse
from pyhanko.sign.validation.qualified.assess import QualificationAssessor
from pyhanko.sign.validation.qualified.eutl_fetch import EU_LOTL_LOCATION
from pyhanko.sign.validation.qualified.tsp import QcCertType, TSPRegistry
from pyhanko_certvalidator.authority import AuthorityWithCert

from sealer.certificates import parse_certificates
from sealer.validation.anchors import TrustAnchors, TrustStoreError

INDEX = "edc-trusted-lists.json"
SIGNERS = "lotl-signers.pem"
TSL_NS = "{http://uri.etsi.org/02231/v2#}"
FETCH_TIMEOUT = 30.0
MAX_LIST_BYTES = 32 * 1024 * 1024


class TrustedListError(TrustStoreError):
    """A trusted list could not be fetched, or its signature does not check out."""


@dataclass
class UpdateResult:
    lists: list[dict[str, Any]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def is_cache(path: Path) -> bool:
    """Whether ``path`` is a folder written by :func:`update`."""
    return path.is_dir() and (path / INDEX).is_file()


def update(folder: str | Path, *, lotl_url: str = EU_LOTL_LOCATION,
           lotl_signers: list[x509.Certificate] | None = None, force: bool = False) -> UpdateResult:
    """Download and check the LOTL and the national lists into ``folder``; lists still before their
    NextUpdate are not downloaded again unless ``force``. Raises TrustedListError when the LOTL itself
    cannot be fetched or is not signed by ``lotl_signers``; national lists that fail are reported in
    ``refused`` and left out."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    signers = lotl_signers or [_crypto(c) for c in eutl_parse.latest_known_lotl_tlso_certs()]
    index = _read_index(folder) if (folder / INDEX).is_file() else {}
    lotl_xml = _fetch_or_cached(folder, index, lotl_url, force)
    try:
        parsed = eutl_parse.validate_and_parse_lotl(lotl_xml, [_asn1(c) for c in signers])
    except (SignatureValidationError, ValueError) as exc:
        raise TrustedListError(f"the List of Trusted Lists at {lotl_url} is refused: its signature does not "
                               f"check out against the LOTL signing certificates ({_reason(exc)})") from None
    result = UpdateResult()
    entries = [{"url": lotl_url, "file": _file_name(lotl_url), "kind": "lotl", "next_update": _next_update(lotl_xml)}]
    for ref in parsed.references:
        if eutl_parse.LOTL_RULE in ref.scheme_rules:
            continue
        try:
            xml = _fetch_or_cached(folder, index, ref.location_uri, force)
            eutl_parse.trust_list_to_registry(xml, ref.tlso_certs, TSPRegistry())
        except (SignatureValidationError, ValueError, TrustedListError) as exc:
            result.refused.append(f"{ref.territory} ({ref.location_uri}): {_reason(exc)}")
            continue
        entries.append({"url": ref.location_uri, "file": _file_name(ref.location_uri), "kind": "tl",
                        "territory": ref.territory, "next_update": _next_update(xml)})
    (folder / SIGNERS).write_bytes(b"".join(c.public_bytes(Encoding.PEM) for c in signers))
    _write_index(folder, {"lotl_url": lotl_url, "updated": _now().isoformat(), "lists": entries,
                          "refused": result.refused})
    result.lists = entries
    return result


def anchors_from_cache(folder: Path) -> TrustAnchors:
    """The anchors of a trusted-list folder, every signature checked again (kept while no file changes)."""
    version = tuple(sorted((f.name, f.stat().st_mtime_ns, f.stat().st_size) for f in folder.iterdir() if f.is_file()))
    return _load(str(folder), version)


@functools.lru_cache(maxsize=4)
def _load(folder_text: str, _version: tuple) -> TrustAnchors:
    folder = Path(folder_text)
    index = _read_index(folder)
    try:
        signers = parse_certificates((folder / SIGNERS).read_bytes())
    except (OSError, ValueError) as exc:
        raise TrustedListError(f"{folder / SIGNERS} cannot be read: {exc}") from None
    lotl = next((e for e in index["lists"] if e["kind"] == "lotl"), None)
    if lotl is None:
        raise TrustedListError(f"{folder} holds no List of Trusted Lists: run 'edc-bridge trust update'")
    lotl_xml = _read_list(folder, lotl)
    try:
        parsed = eutl_parse.validate_and_parse_lotl(lotl_xml, [_asn1(c) for c in signers])
    except (SignatureValidationError, ValueError) as exc:
        raise TrustedListError(f"the cached List of Trusted Lists in {folder} is refused: {_reason(exc)}") from None
    registry = TSPRegistry()
    by_url = {ref.location_uri: ref for ref in parsed.references}
    for entry in index["lists"]:
        ref = by_url.get(entry["url"])
        if entry["kind"] != "tl" or ref is None:
            continue
        try:
            eutl_parse.trust_list_to_registry(_read_list(folder, entry), ref.tlso_certs, registry)
        except (SignatureValidationError, ValueError) as exc:
            raise TrustedListError(f"the cached trusted list of {entry.get('territory')} in {folder} is refused: "
                                   f"{_reason(exc)}") from None
    seal = [_crypto(a.certificate) for a in registry.known_certificate_authorities if isinstance(a, AuthorityWithCert)]
    tsa = [_crypto(a.certificate) for a in registry.known_timestamp_authorities if isinstance(a, AuthorityWithCert)]
    if not seal:
        raise TrustedListError(f"the trusted lists in {folder} grant no qualified CA service")
    return TrustAnchors(tuple(seal), tuple(tsa), f"EU trusted lists ({folder})", registry)


def qualification(registry: TSPRegistry, path: Any, when: dt.datetime) -> dict[str, object]:
    """Whether the seal certificate is qualified under a service granted at ``when`` (the signing time)."""
    status = QualificationAssessor(registry).check_entity_cert_qualified(path, moment=when).status
    return {"qualified": status.qualified, "type": status.qc_type.name, "qscd": status.qc_key_security.is_qscd,
            "qualified_seal": bool(status.qualified and status.qc_type == QcCertType.QC_ESEAL)}


def _fetch_or_cached(folder: Path, index: dict[str, Any], url: str, force: bool) -> str:
    entry = next((e for e in index.get("lists", []) if e["url"] == url), None)
    if entry and not force and entry.get("next_update") and dt.datetime.fromisoformat(entry["next_update"]) > _now():
        try:
            return _read_list(folder, entry)
        except TrustedListError:
            pass
    try:
        response = requests.get(url, timeout=FETCH_TIMEOUT,
                                headers={"Accept": "application/vnd.etsi.tsl+xml, text/xml"})
    except requests.RequestException as exc:
        raise TrustedListError(f"{url} could not be fetched ({type(exc).__name__})") from None
    if response.status_code != 200 or len(response.content) > MAX_LIST_BYTES:
        raise TrustedListError(f"{url} answered HTTP {response.status_code}")
    text = response.content.decode("utf-8")
    target = folder / _file_name(url)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)
    return text


def _read_list(folder: Path, entry: dict[str, Any]) -> str:
    try:
        return (folder / entry["file"]).read_text(encoding="utf-8")
    except (OSError, KeyError, UnicodeDecodeError) as exc:
        raise TrustedListError(f"a cached trusted list in {folder} cannot be read ({exc})") from None


def _next_update(xml: str) -> str | None:
    """The list's NextUpdate (ISO 8601), read with a parser that fetches nothing."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(xml.encode("utf-8"), parser=parser)
    except etree.XMLSyntaxError:
        return None
    text = root.findtext(f"{TSL_NS}SchemeInformation/{TSL_NS}NextUpdate/{TSL_NS}dateTime")
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00")).astimezone(dt.UTC).isoformat()
    except ValueError:
        return None


def _file_name(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:32] + ".xml"


def _read_index(folder: Path) -> dict[str, Any]:
    try:
        return json.loads((folder / INDEX).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TrustedListError(f"{folder / INDEX} cannot be read: {exc}") from None


def _write_index(folder: Path, index: dict[str, Any]) -> None:
    tmp = folder / (INDEX + ".tmp")
    tmp.write_text(json.dumps(index, indent=2), encoding="utf-8")
    os.replace(tmp, folder / INDEX)


def _reason(exc: Exception) -> str:
    return getattr(exc, "failure_message", None) or str(exc) or type(exc).__name__


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))


def _crypto(cert: asn1_x509.Certificate) -> x509.Certificate:
    return x509.load_der_x509_certificate(cert.dump())
