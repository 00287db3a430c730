"""Signatures per second from a SoftHSM2 token through Pkcs11KeySource, next to the PKCS#12 software key.

Run: ``python bench/seal_pkcs11_bench.py [N]`` (default N=300 signatures per row). Builds a private
SoftHSM2 token in a temporary folder (same set-up as the tests: keys generated on the token). The
threaded rows show what the per-process lock costs: every PKCS#11 call is serialised, so extra
threads are not expected to add signatures per second, only to queue (run it twice: on a shared
machine single rows vary by tens of percent). SoftHSM2 is software; a network HSM adds its
round-trip time to every signature.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "sealer"))

from softhsm import softhsm_for_process  # noqa: E402

from sealer.keys import KeySource, Pkcs12KeySource  # noqa: E402
from sealer.keys.devseal import create_dev_seal  # noqa: E402
from sealer.keys.pkcs11 import Pkcs11KeySource  # noqa: E402

PAYLOAD = b"x" * 6000  # about the JAdES signing input of one EDC credential


def run(source: KeySource, alg: str, count: int, threads: int) -> tuple[float, float]:
    """Signatures per second and median latency (ms) for ``count`` signatures over ``threads`` threads."""
    latencies: list[float] = []
    per_thread = count // threads

    def work() -> None:
        for _ in range(per_thread):
            start = time.perf_counter()
            source.sign(PAYLOAD, alg)
            latencies.append(time.perf_counter() - start)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    began = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - began
    return len(latencies) / elapsed, statistics.median(latencies) * 1000


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    with tempfile.TemporaryDirectory() as tmp:
        hsm = softhsm_for_process(Path(tmp) / "softhsm")
        rows: list[tuple[str, KeySource, str]] = []
        for name, algs in (("rsa", ("RS256", "PS256")), ("ec", ("ES256",))):
            key = hsm.keys[name]
            source = Pkcs11KeySource(hsm.module, key.token_label, key.key_label, pin=hsm.user_pin)
            rows += [(f"PKCS#11 SoftHSM2 {key.key_type}", source, alg) for alg in algs]
        for key_type, alg in (("RSA", "RS256"), ("EC", "ES256")):
            seal = create_dev_seal(Path(tmp) / f"p12-{key_type}", key_type=key_type)
            rows.append((f"PKCS#12 software {key_type}", Pkcs12KeySource(seal.pkcs12_path, seal.password), alg))
        print(f"{count} signatures of a {len(PAYLOAD)}-byte input per row")
        print(f"{'key source':<26} {'alg':<6} {'threads':>7} {'sig/s':>9} {'median ms':>10}")
        for label, source, alg in rows:
            for threads in (1, 4):
                rate, median = run(source, alg, count, threads)
                print(f"{label:<26} {alg:<6} {threads:>7} {rate:>9.0f} {median:>10.2f}")


if __name__ == "__main__":
    main()
