"""Bulk intake: all-or-nothing validation, duplicates ignored in bulk, progress reporting."""
from __future__ import annotations

import time
from pathlib import Path

from .conftest import Sidecar, example_completion, make_sidecar

PATH = "/api/v1/completions:batch"


def _items(n: int, start: int = 0, **changes: object) -> list[dict]:
    return [example_completion(learner={"id": f"L{i}", "email": f"learner{i}@example.org"}, **changes)
            for i in range(start, start + n)]


def test_batch_is_stored_deduplicated_and_processed(sidecar: Sidecar) -> None:
    key = sidecar.add_source()
    sidecar.put_template()
    existing = sidecar.signed("POST", "/api/v1/completions", _items(1, start=3)[0], key=key)
    assert existing.status_code == 202
    items = _items(25) + _items(5, start=10)  # 5 repeats inside the batch, L3 already stored
    items += [example_completion(learner={"id": "F1"}, passed=False)]
    response = sidecar.signed("POST", PATH, {"completions": items}, key=key)
    assert response.status_code == 202, response.json
    body = response.json
    assert body["total"] == 31
    assert body["accepted"] == 25  # 25 distinct learners + F1, minus L3 stored before
    assert body["duplicates"] == 6
    assert body["skipped"] == 1
    assert sidecar.count() == 26
    sidecar.drain()
    progress = sidecar.signed("GET", f"/api/v1/batches/{body['batch_id']}", key=key).json
    assert progress["done"] is True
    assert progress["counts"]["sealed"] == 24
    assert progress["counts"]["delivered"] == 24
    assert progress["counts"]["skipped"] == 1
    assert progress["counts"]["received"] == 0
    # The learner posted before keeps the one credential they had.
    again = sidecar.signed("POST", "/api/v1/completions", _items(1, start=3)[0], key=key,
                           timestamp=int(time.time()) + 1)  # a fresh signature, not a replay
    assert again.json["id"] == existing.json["id"]


def test_invalid_items_reject_the_whole_batch(sidecar: Sidecar) -> None:
    key = sidecar.add_source()
    sidecar.put_template()
    items = _items(10)
    items[3]["learner"]["email"] = "nope"
    items[7] = "not an object"
    items[8]["course_id"] = "unknown-course"
    response = sidecar.signed("POST", PATH, {"completions": items}, key=key)
    assert response.status_code == 422
    fields = {e["field"] for e in response.json["errors"]}
    assert {"completions[3].learner.email", "completions[7]", "completions[8].course_id"} <= fields
    assert response.json["invalid_items"] == 3
    assert sidecar.count() == 0


def test_batch_shape_and_source_are_checked(sidecar: Sidecar) -> None:
    key = sidecar.add_source()
    sidecar.add_source("edx")
    sidecar.put_template()
    for body, field in (({}, "completions"), ({"completions": []}, "completions"),
                        ({"completions": {"a": 1}}, "completions"), ({"completions": [], "x": 1}, "x")):
        response = sidecar.signed("POST", PATH, body, key=key)
        assert response.status_code == 422
        assert field in {e["field"] for e in response.json["errors"]}
    foreign = sidecar.signed("POST", PATH, {"completions": _items(2, source="edx")}, key=key)
    assert foreign.status_code == 422
    assert "completions[0].source" in {e["field"] for e in foreign.json["errors"]}
    assert sidecar.count() == 0


def test_batch_size_limits(tmp_path: Path, db_url: str, dev_seal_p12: Path) -> None:
    car = make_sidecar(tmp_path, db_url, dev_seal_p12, EDC_MAX_BATCH_ITEMS="5", EDC_MAX_BODY_BYTES="8192")
    key = car.add_source()
    car.put_template()
    too_many = car.signed("POST", PATH, {"completions": _items(6)}, key=key)
    assert too_many.status_code == 413
    assert too_many.mimetype == "application/problem+json"
    # The batch route has its own, larger body limit: 5 items exceed the 8 KiB single-route limit.
    ok = car.signed("POST", PATH, {"completions": _items(5)}, key=key)
    assert ok.status_code == 202, ok.json
    single = car.signed("POST", "/api/v1/completions", {**_items(1)[0], "padding": "x" * 9000}, key=key)
    assert single.status_code == 413
    car.drain()


def test_unknown_batch_is_404(sidecar: Sidecar) -> None:
    response = sidecar.admin("GET", "/api/v1/batches/does-not-exist")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
