"""ESCO search latency over the bundled snapshot (13,485 skills, en + fr).

Prints index build time and p50/p95/max latency of EscoService.search over a fixed query set:
whole words and type-ahead prefixes in English and French. Target: p95 < 20 ms.

    .venv/bin/python bench/esco_search_bench.py [--rounds 20] [--snapshot PATH]
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from bridge.esco import snapshot as snapshot_file
from bridge.esco.service import EscoService

QUERIES: list[tuple[str, str]] = [
    # English: whole words, phrases, prefixes while typing
    ("adapt to change", "en"), ("manage", "en"), ("communication", "en"), ("python", "en"),
    ("customer service", "en"), ("project management", "en"), ("teach", "en"), ("data analysis", "en"),
    ("a", "en"), ("m", "en"), ("pr", "en"), ("ad", "en"), ("adapt to ch", "en"), ("manage st", "en"),
    ("safety regulations", "en"), ("work in a team", "en"), ("java", "en"), ("comm", "en"),
    # French: accents, apostrophes, unaccented input, prefixes
    ("s'adapter au changement", "fr"), ("sadapter", "fr"), ("compétence", "fr"), ("competence", "fr"),
    ("gérer", "fr"), ("gerer le pers", "fr"), ("c", "fr"), ("de", "fr"), ("communiquer", "fr"),
    ("travailler en équipe", "fr"), ("sécurité", "fr"), ("enseigner", "fr"), ("analyse de donn", "fr"),
    ("l'entreprise", "fr"), ("s", "fr"), ("pro", "fr"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--snapshot", type=Path, default=snapshot_file.BUNDLED_PATH)
    parser.add_argument("--limit", type=int, default=10)
    args = parser.parse_args()

    started = time.perf_counter()
    service = EscoService.from_path(args.snapshot)
    build = time.perf_counter() - started
    for query, lang in QUERIES:  # warm-up
        service.search(query, lang=lang, limit=args.limit)

    samples: list[float] = []
    per_query: dict[tuple[str, str], list[float]] = {q: [] for q in QUERIES}
    for _ in range(args.rounds):
        for query, lang in QUERIES:
            t0 = time.perf_counter()
            service.search(query, lang=lang, limit=args.limit)
            elapsed = (time.perf_counter() - t0) * 1000
            samples.append(elapsed)
            per_query[(query, lang)].append(elapsed)

    samples.sort()
    p95 = samples[int(0.95 * (len(samples) - 1))]
    print(f"snapshot: ESCO {service.esco_version}, languages {', '.join(service.languages)}")
    print(f"load + index build: {build:.2f} s")
    print(f"searches: {len(samples)} ({len(QUERIES)} queries x {args.rounds} rounds, limit {args.limit})")
    print(f"p50 {statistics.median(samples):.2f} ms   p95 {p95:.2f} ms   max {samples[-1]:.2f} ms"
          f"   target p95 < 20 ms: {'OK' if p95 < 20 else 'MISSED'}")
    slowest = sorted(per_query.items(), key=lambda kv: -statistics.median(kv[1]))[:5]
    print("slowest queries (median ms): " + ", ".join(
        f"{q!r}/{lang} {statistics.median(v):.2f}" for (q, lang), v in slowest))


if __name__ == "__main__":
    main()
