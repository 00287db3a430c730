"""Throughput of bridge.elm: assembly, the fast ConformanceGuard and full pyshacl (credentials/s).

Run: ``python bench/elm_bench.py [N]`` (default N=200 for the fast paths, N/10 for full SHACL).
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bridge.elm.assemble import Issuer, assemble  # noqa: E402
from bridge.elm.completion import Completion  # noqa: E402
from bridge.elm.conformance import ConformanceGuard, shacl_validate, shapes_graph  # noqa: E402
from bridge.elm.template import CourseTemplate  # noqa: E402


def completions(n: int) -> list[Completion]:
    base = json.loads((ROOT / "examples" / "completion.json").read_text("utf-8"))
    out = []
    for i in range(n):
        doc = json.loads(json.dumps(base))
        doc["learner"].update(id=str(i), given_name=f"Learner{i}", email=f"learner{i}@example.org")
        doc["grade"]["score"] = i % 101
        out.append(Completion.from_dict(doc))
    return out


def rate(label: str, count: int, seconds: float) -> None:
    print(f"{label:<34} {count:>6} credentials in {seconds:7.3f} s = {count / seconds:9.1f} /s")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    template = CourseTemplate.from_dict(
        json.loads((ROOT / "examples" / "course-template.json").read_text("utf-8"))
    )
    issuer = Issuer(
        legal_name={"en": "Université Exemple"}, eidas_identifier="VATFR-12345678901", country="FR"
    )
    items = completions(n)
    issued = datetime(2026, 11, 21, tzinfo=UTC)

    start = time.perf_counter()
    shapes_graph()
    print(f"shapes graph parse (once per process): {time.perf_counter() - start:.3f} s")

    start = time.perf_counter()
    creds = [assemble(template, c, issuer, issued=issued) for c in items]
    rate("assemble", n, time.perf_counter() - start)

    guard = ConformanceGuard()
    start = time.perf_counter()
    guard.prepare(template, issuer, with_date_of_birth=True)
    print(f"guard.prepare (probe through pyshacl): {time.perf_counter() - start:.3f} s")
    start = time.perf_counter()
    for cred in creds:
        guard.ensure(cred)
    rate("ConformanceGuard.ensure (fast)", n, time.perf_counter() - start)
    print(f"  paths taken: {guard.stats}")

    sampled = ConformanceGuard(sample_every=50)
    start = time.perf_counter()
    for cred in creds:
        sampled.ensure(cred)
    rate("ConformanceGuard(sample_every=50)", n, time.perf_counter() - start)

    full = max(1, n // 10)
    start = time.perf_counter()
    for cred in creds[:full]:
        assert shacl_validate(cred).conforms
    rate("shacl_validate (full pyshacl)", full, time.perf_counter() - start)


if __name__ == "__main__":
    main()
