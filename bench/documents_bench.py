"""The learner's documents: what each costs per credential, next to a raw RSA signature.

Run: ``python bench/documents_bench.py [N]`` (default 30 PDFs, 300 page views, 3,000 page images).
Prints, on this machine and in this run:

- the displayDetail page image per credential (``LearnerImages.render``: the learner's name, award date
  and grade drawn into the template's rasterised page, in every display language), which sealing pays;
- the credential page ``/c/{token}`` as a reader gets it (in-process WSGI: lookup, the one verification
  of the sealed file — its SHACL result cached per payload as in production — and rendering);
- the PDF per credential: WeasyPrint layout + QR code, the PAdES seal (pyHanko, the eSeal's key), and
  both, which the delivery side pays once per credential (the PDF is stored).
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding, rsa  # noqa: E402

from bridge.db.models import Source  # noqa: E402


def _per(label: str, seconds: list[float], unit: str = "ms") -> float:
    scale = 1e3 if unit == "ms" else 1e6
    best, median = min(seconds) * scale, statistics.median(seconds) * scale
    print(f"{label:<58} median {median:9.2f} {unit}   best {best:9.2f} {unit}")
    return median


def _both(label: str, cpu: list[float], wall: list[float], raw: float) -> None:
    """CPU time per item (what it costs, whatever else the machine runs) and wall time (what a reader waits)."""
    median = statistics.median(cpu)
    print(f"{label:<58} CPU median {median * 1e3:8.2f} ms (= {median / raw:,.0f} raw RSA signs), "
          f"wall median {statistics.median(wall) * 1e3:8.2f} ms, best {min(wall) * 1e3:8.2f} ms")


def raw_sign_seconds(rounds: int = 2000) -> float:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    message = b"\x5a" * 32
    start = time.process_time()
    for _ in range(rounds):
        key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    return (time.process_time() - start) / rounds


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    from bridge.app import create_app
    from bridge.config import Settings
    from bridge.documents.page_raster import template_images
    from bridge.documents.pdf import render_pdf
    from bridge.documents.view import from_credential
    from bridge.elm.assemble import display_languages
    from bridge.elm.issuer import Issuer
    from bridge.elm.template import CourseTemplate
    from sealer.pades import seal_pdf

    print(f"CPU: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at the start; CPU time per item "
          "in this one process, and wall time")
    template_doc = json.loads((ROOT / "examples" / "course-template.json").read_text("utf-8"))
    template = CourseTemplate.from_dict(template_doc)
    issuer = Issuer(legal_name={"en": "Université Exemple"}, eidas_identifier="VATFR-12345678901", country="FR")

    raw = raw_sign_seconds()
    print(f"{'raw RSA-2048 sign (32-byte message), same run':<58} {raw * 1e6:9.1f} µs")
    start = time.perf_counter()
    images = template_images(template, issuer, display_languages(template))
    print(f"{'template pages rasterised (once per template, 2 languages)':<58} {time.perf_counter() - start:9.2f} s")
    day = datetime(2026, 11, 20, 10, tzinfo=UTC)
    samples = []
    for i in range(n * 100):
        started = time.process_time()
        images.render(f"Léa Martin-Dupont {i}", day, f"{i % 101}/100")
        samples.append(time.process_time() - started)
    image = _per("displayDetail page images per credential (2 languages)", samples[n:], "µs") / 1e6
    print(f"{'  = fraction of one raw RSA signature':<58} {image / raw:9.2f}")

    with tempfile.TemporaryDirectory() as folder:
        settings = Settings.from_env({"EDC_DATA_DIR": folder, "EDC_DEV_SEAL": "1", "EDC_ADMIN_TOKEN": "bench",
                                      "EDC_PUBLIC_URL": "https://edc.univ.example"})
        app = create_app(settings)
        rt = app.extensions["edc"]
        with rt.sessions() as session:
            session.add(Source(name="bench", key_hash="0" * 64))
            session.commit()
        client = app.test_client()
        auth = {"Authorization": "Bearer bench"}
        client.put("/api/v1/sources/bench/courses/DATA101/template", json=template_doc, headers=auth)
        completion = json.loads((ROOT / "examples" / "completion.json").read_text("utf-8"))
        completion.update(source="bench", course_id="DATA101")
        cred_id = client.post("/api/v1/completions", json=completion, headers=auth).json["id"]
        rt.dispatcher.drain()
        status = client.get(f"/api/v1/credentials/{cred_id}", headers=auth).json
        page = status["page_url"].removeprefix(settings.public_url)
        sealed = client.get(f"/api/v1/credentials/{cred_id}/sealed", headers=auth).data
        client.get(page + "?lang=fr")
        views, views_cpu = [], []
        for i in range(n * 10):
            started, cpu = time.perf_counter(), time.process_time()
            answer = client.get(page + ("?lang=fr" if i % 2 else "?lang=en"))
            views.append(time.perf_counter() - started)
            views_cpu.append(time.process_time() - cpu)
            assert answer.status_code == 200
        _both("credential page /c/{token} (verification + render)", views_cpu, views, raw)

        credential = json.loads(json.loads(sealed)["payload"])
        key = rt.context.services.key_source
        timed: dict[str, tuple[list[float], list[float]]] = {"layout": ([], []), "seal": ([], []), "both": ([], [])}
        for _ in range(n):
            view = from_credential(credential, "fr", presentation=template.presentation,
                                   page_url=status["page_url"])
            wall0, cpu0 = time.perf_counter(), time.process_time()
            pdf = render_pdf(view, attachment=sealed)
            wall1, cpu1 = time.perf_counter(), time.process_time()
            seal_pdf(pdf, key, reason="bench")
            wall2, cpu2 = time.perf_counter(), time.process_time()
            for name, cpu, wall in (("layout", cpu1 - cpu0, wall1 - wall0), ("seal", cpu2 - cpu1, wall2 - wall1),
                                    ("both", cpu2 - cpu0, wall2 - wall0)):
                timed[name][0].append(cpu)
                timed[name][1].append(wall)
        _both("PDF layout (WeasyPrint, QR, sealed file attached)", *timed["layout"], raw)
        _both("PAdES seal of the PDF (pyHanko, RSA-2048, no TSA)", *timed["seal"], raw)
        _both("PDF + PAdES per credential (made once, stored)", *timed["both"], raw)
        print(f"{'PDF size':<58} {len(pdf) / 1024:9.1f} KiB")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
