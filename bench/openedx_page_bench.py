"""Open edX learner page: what a hung sidecar costs the page (it must cost nothing).

Renders the credential block's student view in the real xblock-sdk workbench runtime, as a signed-in
learner, against (a) the real sidecar on loopback, (b) a "hung" sidecar — a socket that accepts
connections and never answers — and (c) no sidecar at all (connection refused). The page renders from
local state, so (b) and (c) should equal (a); the status the page asks for afterwards waits at most
STATUS_TIMEOUT once, then serves the cached "unknown" answer. Baseline: the workbench rendering the
SDK's own ``html_demo`` block in the same run. Prints figures only.
Usage: python bench/openedx_page_bench.py [--renders 300]
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _timings(render, count: int) -> list[float]:  # noqa: ANN001
    costs = []
    for _ in range(count):
        start = time.perf_counter()
        render()
        costs.append(time.perf_counter() - start)
    costs.sort()
    return costs


def _fmt(costs: list[float]) -> str:
    return (f"median {statistics.median(costs) * 1000:.2f} ms, p95 {costs[int(len(costs) * 0.95) - 1] * 1000:.2f} ms, "
            f"max {costs[-1] * 1000:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--renders", type=int, default=300)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="edc-openedx-page-bench-"))
    os.chdir(workdir)
    (workdir / "var").mkdir()
    os.environ["DJANGO_SETTINGS_MODULE"] = "workbench.settings"
    import django
    from django.core.management import call_command

    django.setup()
    logging.disable(logging.WARNING)
    call_command("migrate", run_syncdb=True, verbosity=0, interactive=False)
    from django.core.cache import cache
    from django.test import override_settings
    from workbench.runtime import WorkbenchRuntime

    from edx_xblock.olx import EXAMPLE
    from tests.edx.sidecar_server import bridge_settings, running_sidecar

    def usage_of(xml: str, scenario: str) -> str:
        runtime = WorkbenchRuntime()
        runtime.id_generator.set_scenario(scenario)
        return runtime.parse_xml_string(xml)

    credential = usage_of(EXAMPLE, "bench-credential")
    html = usage_of("<html_demo><p>Data Analysis with Python: what this course attests.</p></html_demo>", "bench-html")

    def render(usage: str, learner: str) -> None:
        WorkbenchRuntime(learner).get_block(usage).render("student_view")

    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(512)  # accepts (the kernel completes the handshake) and never answers
    refused = socket.socket()
    refused.bind(("127.0.0.1", 0))
    closed_url = f"http://127.0.0.1:{refused.getsockname()[1]}"
    refused.close()
    hung_url = f"http://127.0.0.1:{hung.getsockname()[1]}"
    print(f"machine: {os.cpu_count()} cores; {args.renders} renders per case, student_view as learner 'bench'")
    with running_sidecar(workdir / "sidecar") as sidecar:
        baseline = _timings(lambda: render(html, "bench"), args.renders)
        results = {}
        for name, url in (("healthy sidecar", sidecar.url), ("hung sidecar", hung_url),
                          ("no sidecar (refused)", closed_url)):
            with override_settings(XBLOCK_SETTINGS={"EdcCredentialBlock": bridge_settings(url, STATUS_TIMEOUT=1.5)}):
                cache.clear()
                render(credential, "bench")  # warm-up
                results[name] = _timings(lambda: render(credential, "bench"), args.renders)
                connections = _drain_accepts(hung) if url == hung_url else None
                block = WorkbenchRuntime("bench").get_block(credential)
                cache.clear()
                start = time.perf_counter()
                first = json.loads(block.runtime.handle(block, "status", _request("{}")).body)
                first_cost = time.perf_counter() - start
                start = time.perf_counter()
                block.runtime.handle(block, "status", _request("{}"))
                second_cost = time.perf_counter() - start
                results[name + " status"] = (first["state"], first_cost, second_cost, connections)
    hung.close()
    print(f"baseline (SDK html_demo block):      {_fmt(baseline)}")
    for name in ("healthy sidecar", "hung sidecar", "no sidecar (refused)"):
        costs = results[name]
        extra = (statistics.median(costs) - statistics.median(results["healthy sidecar"])) * 1000
        state, first, second, connections = results[name + " status"]
        print(f"credential block, {name + ':':22} {_fmt(costs)}; "
              f"{statistics.median(costs) / statistics.median(baseline):.2f}x baseline; "
              f"page cost vs healthy {extra:+.2f} ms")
        if connections is not None:
            print(f"    connections the renders opened to the hung sidecar: {connections}")
        print(f"    status handler afterwards: '{state}' in {first * 1000:.1f} ms, "
              f"then {second * 1000:.2f} ms (cached)")


def _drain_accepts(listener: socket.socket) -> int:
    """How many connections reached the listening socket (each is accepted and closed)."""
    listener.setblocking(False)
    count = 0
    while True:
        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            break
        conn.close()
        count += 1
    listener.setblocking(True)
    return count


def _request(body: str):  # noqa: ANN202
    import webob

    return webob.Request.blank("/", method="POST", body=body.encode())


if __name__ == "__main__":
    main()
