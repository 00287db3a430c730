"""B-LTA: offline verification rate, and sealing with a loopback TSA and OCSP responder.

Run: ``python bench/lta_bench.py [SECONDS_PER_ROW]`` (default 3). Everything runs on this machine:
a pinned-time test PKI (root, eSeal naming an OCSP responder, TSA), the loopback TSA and OCSP
responder of the tests (threads of this process), the verifying and sealing thread on one core. The
sealing rows run twice: with the TSA answering at once, and answering after 30 ms as a TSA across the
network does.

* **verify B-LTA offline**: ``sealer.validation.validate_seal(..., fetch=False)`` of a 20 KB credential
  sealed at B-LTA (OCSP answer embedded), at a validation time after the seal certificate expired —
  so every check runs: JWS structure, signature, three time-stamp tokens and their imprints (content,
  signature, archive), the TSA chain at the time-stamp's time, the seal chain now (expired) and again at
  the proven time with the embedded OCSP answer. Shown next to the raw baseline measured in the same
  run: one RSA-2048 signature verification plus SHA-256 of the payload (what B-B costs at least).
* **seal B-LTA per credential**: ``JadesSealer.seal`` — per seal, three TSA round trips (content,
  signature, archive time-stamps: each covers this seal's own bytes) and one OCSP request.
* **seal B-LTA per chunk**: ``JadesSealer.seal_chunk`` of 50 — the time-stamps stay per seal; the
  OCSP/CRL answers and certificates (``xVals``/``rVals``) are gathered once per chunk, after the chunk's
  last signature time-stamp, which is what ETSI EN 319 102-1 needs of them (issued after the best
  signature time of every seal that embeds them). Sharing time-stamps is not allowed: their imprints
  are per seal. The chunk's time-stamp requests of one kind (content, then signature, then archive) are
  sent together, up to ``TSA_CONCURRENCY`` at a time; the rows show one at a time next to that.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "sealer"))

from pki import PINNED, Responder, make_pki  # noqa: E402
from pki import serve as serve_responder  # noqa: E402
from tsa_server import LoopbackTsa  # noqa: E402
from tsa_server import serve as serve_tsa  # noqa: E402

from sealer.jades import JadesSealer  # noqa: E402
from sealer.jades.bulk import TSA_CONCURRENCY  # noqa: E402
from sealer.ltv import Collector  # noqa: E402
from sealer.validation import validate_seal  # noqa: E402

TSA_DELAY = 0.03  # a public TSA's round trip across the network is tens of milliseconds


def rate(action: Callable[[], object], seconds: float, per_call: int = 1) -> float:
    action()  # warm-up
    count, began = 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        action()
        count += per_call
    return count / (time.perf_counter() - began)


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    responder = Responder(root=None, root_key=None, at=PINNED)  # type: ignore[arg-type]
    ocsp_server = serve_responder(responder)
    pki = make_pki(responder.url)
    responder.root, responder.root_key = pki.root, pki.root_key
    responder.status[pki.seal.certificate.serial_number] = "good"
    tsa = LoopbackTsa(pki.tsa_key, pki.tsa_certificate, gen_time=PINNED)
    tsa_server = serve_tsa(tsa)
    if hasattr(os, "sched_setaffinity"):  # this thread (verifying, sealing) on one core; the servers are not
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    payload = b'{"credential":"' + b"x" * 20_000 + b'"}'
    try:
        def sealer(concurrency: int = TSA_CONCURRENCY) -> JadesSealer:
            return JadesSealer(pki.seal, tsa_url=tsa.url, level="B-LTA", tsa_concurrency=concurrency,
                               validation_data=Collector([pki.root], at=PINNED))

        # Distinct credentials (own signature, time-stamps, arcTst), a second apart: only what one issuer's
        # credentials share (its chain, its TSA, the validity windows) can be reused between them.
        files = [sealer().seal(payload.replace(b"xxxx", f"{i:04d}".encode(), 1),
                               signing_time=PINNED + dt.timedelta(seconds=i)) for i in range(20)]
        sealed = files[0]
        later = PINNED + dt.timedelta(days=3 * 365)
        for one_file in files:
            check = validate_seal(one_file, trust=[pki.root], at=later, fetch=False)
            assert check.verdict == "valid", check.errors
        turn = iter(files * 100_000)
        public = pki.seal.certificate.public_key()
        signature = pki.seal.sign(b"x" + payload, "RS256")

        def raw() -> None:
            hashlib.sha256(payload).digest()
            public.verify(signature, b"x" + payload, padding.PKCS1v15(), hashes.SHA256())

        raw_rate = rate(raw, seconds)
        verify_rate = rate(lambda: validate_seal(next(turn), trust=[pki.root], at=later, fetch=False), seconds)
        print(f"machine: {os.cpu_count()} cores, verifying and sealing on one; load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; {len(sealed)} B sealed file (20 KB payload)")
        print(f"raw baseline (RSA-2048 verify + SHA-256 of payload)   {raw_rate:9.0f} /s")
        print(f"verify B-LTA offline, after certificate expiry (20 distinct credentials in turn) "
              f"{verify_rate:6.0f} /s  "
              f"= {verify_rate / raw_rate:.3f} x raw   (target >= 200 /s)")
        for delay in (0.0, TSA_DELAY):
            tsa.delay = delay
            where = "loopback TSA" if not delay else f"TSA answering in {delay * 1000:.0f} ms"
            single = sealer()
            one = rate(lambda single=single: single.seal(payload, signing_time=PINNED), seconds)
            print(f"seal B-LTA per credential, {where} (3 TSA + 1 OCSP round trips)    {one:7.1f} /s")
            for concurrency in (1, TSA_CONCURRENCY):
                chunker = sealer(concurrency)
                asked = responder.asked
                chunk = rate(lambda chunker=chunker: chunker.seal_chunk([(payload, None)] * 50, signing_time=PINNED),
                             seconds, per_call=50)
                print(f"seal B-LTA per chunk of 50, {where}, {concurrency} TSA request(s) at a time "
                      f"{chunk:7.1f} /s  ({responder.asked - asked} OCSP requests in all)")
    finally:
        for server in (ocsp_server, tsa_server):
            server.shutdown()
            server.server_close()


if __name__ == "__main__":
    main()
