"""Receiving side: how long a registrar waits for a verification, and what the catalogue costs.

Run: ``python bench/receiving_bench.py [N]`` (default N=10 repetitions). Prints milliseconds per
verification (recognition report) for EDC's JAdES B-LTA sample, the legacy XAdES sample and a
credential sealed by this bridge, the same through the HTTP page (Flask test client, SQLite), and
the cost of building and LOQ-validating a LearningOpportunity.
"""
from __future__ import annotations

import io
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bridge.app import create_app  # noqa: E402
from bridge.config import Settings  # noqa: E402
from bridge.elm.assemble import assemble  # noqa: E402
from bridge.elm.completion import Completion  # noqa: E402
from bridge.elm.issuer import Issuer  # noqa: E402
from bridge.elm.learning_opportunity import learning_opportunity, loq_validate  # noqa: E402
from bridge.elm.template import CourseTemplate  # noqa: E402
from bridge.verify import verify_credential as recognise  # noqa: E402
from sealer.jades import dumps, seal_jades  # noqa: E402
from sealer.keys import Pkcs12KeySource  # noqa: E402
from sealer.keys.devseal import create_dev_seal  # noqa: E402
from tests.reference import ELM_EXAMPLES  # noqa: E402


def timed(label: str, n: int, action: Callable[[], object]) -> None:
    action()  # warm-up: shapes parsed, caches filled
    runs = []
    for _ in range(n):
        start = time.perf_counter()
        action()
        runs.append((time.perf_counter() - start) * 1000)
    print(f"{label:<46} median {statistics.median(runs):8.1f} ms   max {max(runs):8.1f} ms   (n={n})")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    edc = (ELM_EXAMPLES / "elm-v3" / "Sample-CertOfPart-signed.jsonld").read_bytes()
    xml = (ELM_EXAMPLES / "legacy-elm-v2-xml" / "EDC_DiplomaSupplement_AA.xml").read_bytes()
    template = CourseTemplate.from_dict(json.loads((ROOT / "examples" / "course-template.json").read_text("utf-8")))
    completion = Completion.from_dict(json.loads((ROOT / "examples" / "completion.json").read_text("utf-8")))
    with tempfile.TemporaryDirectory() as tmp:
        seal = create_dev_seal(Path(tmp) / "seal")
        key = Pkcs12KeySource(seal.pkcs12_path, seal.password)
        credential = assemble(template, completion, Issuer.from_certificate(key.certificate))
        ours = dumps(seal_jades(json.dumps(credential).encode("utf-8"), key))
        print(f"file sizes: EDC JAdES {len(edc) // 1024} KiB, legacy XAdES {len(xml) // 1024} KiB, "
              f"ours {len(ours) // 1024} KiB")
        timed("recognise: EDC sample (JAdES B-LTA)", n, lambda: recognise(edc))
        timed("recognise: legacy EDC XML (XAdES)", n, lambda: recognise(xml))
        timed("recognise: our credential (JAdES B-B)", n, lambda: recognise(ours, lang="fr"))
        settings = Settings.from_env({"EDC_DATA_DIR": str(Path(tmp) / "var"), "EDC_DEV_SEAL": "0"})
        client = create_app(settings).test_client()
        timed("POST /verify page: EDC sample", n, lambda: client.post(
            "/verify", data={"file": (io.BytesIO(edc), "c.jsonld")}, content_type="multipart/form-data"))
        timed("POST /api/v1/verify: our credential", n, lambda: client.post(
            "/api/v1/verify", data=ours, content_type="application/ld+json"))
    timed("LearningOpportunity build", n, lambda: learning_opportunity(
        template, base_url="https://sidecar.example", source="moodle-main", course_id="42"))
    document = learning_opportunity(template, base_url="https://sidecar.example", source="moodle-main",
                                    course_id="42")
    timed("LearningOpportunity LOQ SHACL validation", n, lambda: loq_validate(document))


if __name__ == "__main__":
    main()
