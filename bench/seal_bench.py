"""Seals and verifications per second for JAdES, next to the raw signature rate of the same keys.

Run: ``python bench/seal_bench.py [SECONDS_PER_ROW]`` (default 2). Each JAdES row is also shown as a
ratio to the raw rate of its key type (RSA-2048 PKCS#1 v1.5, or P-256 ECDSA, signing a 32-byte
digest with ``cryptography`` in this same run), so the JOSE overhead reads independently of the
machine. The PKCS#11 rows appear when SoftHSM2 and ``sealer.keys.pkcs11`` are available. Figures on
a shared machine vary by tens of percent between runs; compare ratios, not absolute rates.
"""
from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sealer.jades import dumps, seal_jades  # noqa: E402
from sealer.keys import KeySource, Pkcs12KeySource  # noqa: E402
from sealer.keys.devseal import create_dev_seal  # noqa: E402
from sealer.validation import validate_seal  # noqa: E402

SAMPLES = Path("/work/shared/reference/elm/examples")
PAYLOAD_FILE = SAMPLES / "elm-v3/Sample-CertOfPart-unsigned.jsonld"
EDC_SEALED = SAMPLES / "elm-v3/Sample-CertOfPart-signed.jsonld"


def rate(action: Callable[[], object], seconds: float) -> float:
    """Operations per second of ``action`` over about ``seconds`` of wall time."""
    action()  # warm-up
    count = 0
    began = time.perf_counter()
    deadline = began + seconds
    while True:
        action()
        count += 1
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - began)


def pkcs11_sources(tmp: Path) -> list[tuple[str, KeySource, str]]:
    """SoftHSM2-backed key sources, or nothing when PKCS#11 support is not available here."""
    sys.path.insert(0, str(ROOT / "tests" / "sealer"))
    try:
        from softhsm import find_module, softhsm_for_process

        from sealer.keys.pkcs11 import Pkcs11KeySource
    except ImportError:
        return []
    if find_module() is None:
        return []
    hsm = softhsm_for_process(tmp / "softhsm")
    rows = []
    for name, alg in (("rsa", "RS256"), ("ec", "ES256")):
        key = hsm.keys[name]
        source = Pkcs11KeySource(hsm.module, key.token_label, key.key_label, pin=hsm.user_pin)
        rows.append((f"seal JAdES {alg} PKCS#11 SoftHSM2", source, alg))
    return rows


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    payload = PAYLOAD_FILE.read_bytes()
    digest = b"\x5a" * 32
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    raw = {
        "RSA": rate(lambda: rsa_key.sign(digest, padding.PKCS1v15(), Prehashed(hashes.SHA256())), seconds),
        "EC": rate(lambda: ec_key.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256()))), seconds),
    }
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        sources: dict[str, KeySource] = {}
        for key_type in ("RSA", "EC"):
            seal = create_dev_seal(tmp / key_type, key_type=key_type)
            sources[key_type] = Pkcs12KeySource(seal.pkcs12_path, seal.password)
        rows: list[tuple[str, str, Callable[[], object]]] = []
        for alg, key_type in (("RS256", "RSA"), ("PS256", "RSA"), ("ES256", "EC")):
            source = sources[key_type]
            rows.append((f"seal JAdES {alg} PKCS#12", key_type,
                         lambda s=source, a=alg: dumps(seal_jades(payload, s, alg=a))))
        for label, source, alg in pkcs11_sources(tmp):
            rows.append((label, source.key_type, lambda s=source, a=alg: dumps(seal_jades(payload, s, alg=a))))
        for alg, key_type in (("RS256", "RSA"), ("ES256", "EC")):
            sealed = dumps(seal_jades(payload, sources[key_type], alg=alg))
            rows.append((f"verify JAdES {alg}", key_type, lambda d=sealed: validate_seal(d, fetch=False)))
        edc = EDC_SEALED.read_bytes()
        rows.append(("verify EDC B-LTA sample (3 TSTs)", "RSA", lambda: validate_seal(edc, fetch=False)))

        print(f"payload {len(payload)} bytes ({PAYLOAD_FILE.name}), about {seconds:g} s per row")
        print(f"{'operation':<36} {'per s':>9} {'x raw':>7}")
        print(f"{'raw RSA-2048 sign (32-byte digest)':<36} {raw['RSA']:>9.0f} {1:>7.2f}")
        print(f"{'raw P-256 sign (32-byte digest)':<36} {raw['EC']:>9.0f} {1:>7.2f}")
        for label, key_type, action in rows:
            value = rate(action, seconds)
            print(f"{label:<36} {value:>9.0f} {value / raw[key_type]:>7.2f}")


if __name__ == "__main__":
    main()
