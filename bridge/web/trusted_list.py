"""Trust anchors for verification from an EU trusted list file (ETSI TS 119 612 XML).

Qualified eSeals chain to CAs that a member state lists in its trusted list as qualified
certificate services (``Svctype/CA/QC``) with status ``granted``. An operator may point
``EDC_VERIFY_TRUST`` at such a file (downloaded from the EU List of Trusted Lists) instead of a folder
of extracted certificates; the anchors are the certificates of those services. The file is the
operator's choice of what to trust: its own XAdES signature is not checked here, and it is parsed
with the same entity-free, network-free parser as sealed XML.
"""
from __future__ import annotations

import base64
import binascii
from functools import lru_cache
from pathlib import Path

from cryptography import x509

from sealer.xades.dsig import parse

TSL = "{http://uri.etsi.org/02231/v2#}"
CA_QC = "http://uri.etsi.org/TrstSvc/Svctype/CA/QC"
GRANTED = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/granted"


class TrustedListError(ValueError):
    """The file is not a trusted list this module can read; the message names the file."""


def is_trusted_list(path: Path) -> bool:
    """A file ending in .xml is read as a trusted list; anything else as certificates."""
    return path.is_file() and path.suffix.lower() == ".xml"


def anchors_from_trusted_list(path: Path) -> list[x509.Certificate]:
    """The certificates of the granted qualified-certificate CA services listed in ``path``."""
    stat = path.stat()
    return list(_anchors(str(path), stat.st_mtime_ns, stat.st_size))


@lru_cache(maxsize=4)
def _anchors(path: str, _mtime: int, _size: int) -> tuple[x509.Certificate, ...]:
    """Cached per file version (path, modification time, size): trusted lists are large."""
    try:
        root = parse(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise TrustedListError(f"trusted list {Path(path).name}: {exc}") from None
    if root.tag != f"{TSL}TrustServiceStatusList":
        raise TrustedListError(f"{Path(path).name} is not an ETSI trusted list (TrustServiceStatusList)")
    anchors: list[x509.Certificate] = []
    for info in root.iter(f"{TSL}ServiceInformation"):
        kind = (info.findtext(f"{TSL}ServiceTypeIdentifier") or "").strip()
        status = (info.findtext(f"{TSL}ServiceStatus") or "").strip()
        if kind != CA_QC or status != GRANTED:
            continue
        for node in info.iter(f"{TSL}X509Certificate"):
            try:
                anchors.append(x509.load_der_x509_certificate(base64.b64decode("".join((node.text or "").split()))))
            except (ValueError, binascii.Error):
                raise TrustedListError(f"trusted list {Path(path).name}: a service certificate is not "
                                       "base64 DER") from None
    if not anchors:
        raise TrustedListError(f"trusted list {Path(path).name} lists no granted CA/QC service")
    return tuple(anchors)
