"""Speed of XAdES sealing and verification (documents per second), and of the 939 KB legacy EDC sample.

Run: ``python bench/xades_bench.py [N]`` (default N=100 credentials per key type). Prints figures only;
correctness is the tests' job.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sealer.keys import Pkcs12KeySource  # noqa: E402
from sealer.keys.devseal import create_dev_seal  # noqa: E402
from sealer.validation import validate_seal  # noqa: E402
from sealer.xades import seal_xades  # noqa: E402
from tests.reference import ELM_EXAMPLES  # noqa: E402

LEGACY = ELM_EXAMPLES / "legacy-elm-v2-xml" / "EDC_DiplomaSupplement_AA.xml"


def credential(i: int) -> bytes:
    """A small ELM-like credential (~1.3 KB) with multilingual texts, different for every learner."""
    outcomes = "".join(
        f'<learningOutcome><title xml:lang="en">Outcome {k}</title>'
        f'<title xml:lang="fr">Acquis {k} — compétence</title></learningOutcome>'
        for k in range(8)
    )
    return (
        f'<credential xmlns="http://data.europa.eu/snb/model/elm/" xml:lang="en" id="urn:credential:{i}">'
        f"<learner><givenName>Learner{i}</givenName><familyName>Martin</familyName></learner>"
        f"<title>Data Analysis with Python</title>{outcomes}<grade>{i % 101}/100</grade></credential>"
    ).encode()


def rate(label: str, count: int, seconds: float) -> None:
    print(f"{label:<38} {count / seconds:8.1f} /s   {1000 * seconds / count:7.2f} ms each")


def main(n: int) -> None:
    docs = [credential(i) for i in range(n)]
    with tempfile.TemporaryDirectory() as tmp:
        for key_type in ("RSA", "EC"):
            files = create_dev_seal(Path(tmp) / key_type, key_type=key_type)
            key = Pkcs12KeySource(files.pkcs12_path, files.password)
            start = time.perf_counter()
            sealed = [seal_xades(doc, key) for doc in docs]
            rate(f"seal_xades {key_type} ({len(docs[0])} B)", n, time.perf_counter() - start)
            start = time.perf_counter()
            for doc in sealed:
                validate_seal(doc)
            rate(f"verify_xades {key_type} (no anchors)", n, time.perf_counter() - start)
            start = time.perf_counter()
            reports = [validate_seal(doc, fetch=False, trust=files.ca_certificate_path) for doc in sealed]
            rate(f"verify_xades {key_type} + chain", n, time.perf_counter() - start)
            if not all(report.ok for report in reports):
                raise SystemExit("a benchmark seal did not verify")
    data = LEGACY.read_bytes()
    runs = max(1, n // 20)
    start = time.perf_counter()
    for _ in range(runs):
        validate_seal(data)
    rate(f"verify legacy EDC sample ({len(data) // 1024} KB)", runs, time.perf_counter() - start)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
