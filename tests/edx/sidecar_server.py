"""The real sidecar app served on loopback for the Open edX suites (embedded defaults: SQLite under a
temporary data dir, dev seal, in-process tasks, email to the local outbox), with one registered source."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server

SOURCE = "openedx-main"
API_KEY = "edx-test-api-key-0123456789abcdef"
ADMIN = "edx-test-admin-token"
AWARDING_BODY = {"legal_name": {"en": "Université Exemple", "fr": "Université Exemple"},
                 "legal_identifier": "123456789", "vat_identifier": "FR12345678901", "country": "FR",
                 "homepage": "https://univ.example", "email": "registrar@univ.example"}


@dataclass
class RunningSidecar:
    url: str
    app: Any

    def drain(self) -> None:
        """Wait for the in-process issuing/delivery tasks queued so far."""
        self.app.extensions["edc"].dispatcher.drain()

    def admin_get(self, path: str) -> Any:
        return self.app.test_client().get(path, headers={"Authorization": f"Bearer {ADMIN}"})


class HeldDispatcher:
    """Accepts issuing work and never runs it: credentials stay 'received' (the 'being issued' state)."""

    def issue(self, credential_ids: Any, eta: Any = None) -> None:
        return None

    def deliver(self, delivery_id: int, eta: Any = None) -> None:
        return None

    def deliver_many(self, delivery_ids: Any) -> None:
        return None

    def drain(self) -> None:
        return None


@contextmanager
def running_sidecar(data_dir: Path, dispatcher: Any = None, **env: str) -> Iterator[RunningSidecar]:
    from bridge.app import create_app
    from bridge.auth import hash_api_key
    from bridge.config import Settings
    from bridge.db.models import Source

    settings = Settings.from_env({"EDC_DATA_DIR": str(data_dir), "EDC_ADMIN_TOKEN": ADMIN, **env})
    app = create_app(settings, dispatcher=dispatcher)
    with app.extensions["edc"].sessions() as session:  # what `edc-bridge sources add` does
        session.add(Source(name=SOURCE, key_hash=hash_api_key(API_KEY)))
        session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield RunningSidecar(f"http://127.0.0.1:{server.server_port}", app)
    finally:
        server.shutdown()
        dispatcher = app.extensions["edc"].dispatcher
        if hasattr(dispatcher, "shutdown"):
            dispatcher.shutdown()


def bridge_settings(url: str, **extra: Any) -> dict[str, Any]:
    """The EDC_BRIDGE dict an operator would write for this sidecar."""
    return {"SIDECAR_URL": url, "SOURCE": SOURCE, "API_KEY": API_KEY, "AWARDING_BODY": AWARDING_BODY,
            "TIMEOUT": 30, **extra}
