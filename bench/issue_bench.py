"""Issuance throughput: the reference path against the compiled fast path, next to the raw sign rate.

Run: ``python bench/issue_bench.py [N] [ROUNDS] [CHUNK]`` (defaults 2000, 3 and 100). One process
pinned to one core. Each row issues N credentials per round (the example template, N distinct
learners, half of them with a date of birth) in chunks of CHUNK; rows take turns chunk by chunk and
each row reports its best chunk, so a neighbour's burst on a shared machine spoils a few chunks of
every row rather than a whole row (a shared 2-core box otherwise gives ratios off by 2x). The
ratio column is rows/s over the raw
sign rate of the same key type (``cryptography``, 32-byte message: RSA-2048 PKCS#1 v1.5 SHA-256,
or P-256 ECDSA SHA-256) measured in the same run. Issue 2's target: fast path RS256 >= 0.50.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bridge.elm.assemble import assemble  # noqa: E402
from bridge.elm.compiled import CompiledTemplate  # noqa: E402
from bridge.elm.completion import Completion  # noqa: E402
from bridge.elm.conformance import ConformanceGuard  # noqa: E402
from bridge.elm.issuer import Issuer  # noqa: E402
from bridge.elm.template import CourseTemplate  # noqa: E402
from sealer.jades import dumps, seal_jades  # noqa: E402
from sealer.jades.bulk import JadesSealer  # noqa: E402
from sealer.keys import Pkcs12KeySource  # noqa: E402
from sealer.keys.devseal import create_dev_seal  # noqa: E402
from sealer.validation import parse  # noqa: E402

MESSAGE = b"\x5a" * 32


def completions(n: int) -> list[Completion]:
    base = json.loads((ROOT / "examples" / "completion.json").read_text("utf-8"))
    out = []
    for i in range(n):
        doc = json.loads(json.dumps(base))
        doc["learner"].update(id=str(i), given_name=f"Léa \"{i}\"", email=f"learner{i}@example.org")
        if i % 2:
            del doc["learner"]["date_of_birth"]
        doc["grade"]["score"] = i % 101
        out.append(Completion.from_dict(doc))
    return out


def pin_one_core() -> str:
    """Issue 2 compares rates on one core; pinning also stops migrations from adding noise."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned"
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return f"pinned to CPU {core}"


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    chunk = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    print(f"N={n} x {rounds} rounds, best chunk of {chunk}, rows interleaved per chunk, {pin_one_core()}")
    template = CourseTemplate.from_dict(json.loads((ROOT / "examples" / "course-template.json").read_text("utf-8")))
    items = completions(n)
    issued = datetime(2026, 11, 29, tzinfo=UTC)
    raw_rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raw_ec = ec.generate_private_key(ec.SECP256R1())

    with tempfile.TemporaryDirectory() as tmp:
        keys = {}
        for key_type in ("RSA", "EC"):
            seal = create_dev_seal(Path(tmp) / key_type, key_type=key_type)
            keys[key_type] = Pkcs12KeySource(seal.pkcs12_path, seal.password)
        issuer = Issuer.from_certificate(keys["RSA"].certificate)

        began = time.perf_counter()
        compiled = CompiledTemplate.compile(template, issuer)
        print(f"compile (2 probes through pyshacl + 4 verification renders): {time.perf_counter() - began:.3f} s")
        guard = ConformanceGuard()
        guard.prepare(template, issuer)
        guard.prepare(template, issuer, with_date_of_birth=True)
        sealers = {k: JadesSealer(key) for k, key in keys.items()}
        pairs = [compiled.render_pair(c, issued=issued) for c in items]
        payload_size = sum(len(p.payload) for p in pairs) / n

        def reference(key_type: str) -> Callable[[slice], object]:
            def run(part: slice) -> None:
                for c in items[part]:
                    credential = assemble(template, c, issuer, issued=issued)
                    guard.ensure(credential)
                    text = json.dumps(credential, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
                    dumps(seal_jades(text, keys[key_type]))
            return run

        def fast(key_type: str, hand_over: bool = True) -> Callable[[slice], object]:
            seal = sealers[key_type].seal

            def run(part: slice) -> None:
                for c in items[part]:
                    rendered = compiled.render_pair(c, issued=issued)
                    seal(rendered.payload, escaped=rendered.escaped if hand_over else None)
            return run

        def seal_only(key_type: str, hand_over: bool) -> Callable[[slice], object]:
            seal = sealers[key_type].seal
            return lambda part: [seal(p.payload, escaped=p.escaped if hand_over else None) for p in pairs[part]]

        rsa_sign, ec_sign = raw_rsa.sign, raw_ec.sign
        rows: list[tuple[str, str, Callable[[slice], object]]] = [
            ("raw RSA-2048 sign (32-byte message)", "RSA",
             lambda part: [rsa_sign(MESSAGE, padding.PKCS1v15(), hashes.SHA256()) for _ in items[part]]),
            ("raw P-256 sign (32-byte message)", "EC",
             lambda part: [ec_sign(MESSAGE, ec.ECDSA(hashes.SHA256())) for _ in items[part]]),
            ("assemble+guard+dumps+seal_jades RS256", "RSA", reference("RSA")),
            ("assemble+guard+dumps+seal_jades ES256", "EC", reference("EC")),
            ("compiled.render_pair", "RSA", lambda part: [compiled.render_pair(c, issued=issued) for c in items[part]]),
            ("compiled.render", "RSA", lambda part: [compiled.render(c, issued=issued) for c in items[part]]),
            ("JadesSealer.seal RS256 (escaped given)", "RSA", seal_only("RSA", True)),
            ("JadesSealer.seal RS256 (escapes itself)", "RSA", seal_only("RSA", False)),
            ("JadesSealer.seal ES256 (escaped given)", "EC", seal_only("EC", True)),
            ("fast path RS256 render_pair+seal", "RSA", fast("RSA")),
            ("fast path RS256 render+seal (no hand-over)", "RSA", fast("RSA", hand_over=False)),
            ("fast path ES256 render_pair+seal", "EC", fast("EC")),
        ]
        best = {label: float("inf") for label, _, _ in rows}  # seconds per credential
        parts = [slice(lo, min(lo + chunk, n)) for lo in range(0, n, chunk)]
        for _ in range(rounds):
            for part in parts:
                for label, _key_type, action in rows:
                    began = time.perf_counter()
                    action(part)
                    best[label] = min(best[label], (time.perf_counter() - began) / (part.stop - part.start))

        # The fast path's output is a valid seal over the reference bytes.
        sample = sealers["RSA"].seal(pairs[0].payload, escaped=pairs[0].escaped)
        assert parse(sample).signature_intact and not parse(sample).failures
        raw = {"RSA": 1 / best[rows[0][0]], "EC": 1 / best[rows[1][0]]}
        print(f"payload {payload_size:.0f} bytes on average")
        print(f"{'operation':<44} {'per s':>9} {'ms each':>8} {'x raw':>6}")
        for label, key_type, _action in rows:
            per_s = 1 / best[label]
            print(f"{label:<44} {per_s:>9.0f} {1000 / per_s:>8.3f} {per_s / raw[key_type]:>6.2f}")


if __name__ == "__main__":
    main()
