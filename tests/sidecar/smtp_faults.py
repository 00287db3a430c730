"""An SMTP server on loopback whose faults the test chooses per recipient: slow, hung, dropping the
connection after DATA, answering 4xx or 5xx. It counts what it *accepted* (answered 250 after the
final "."), by recipient, and every Message-ID it saw, accepted or not."""
from __future__ import annotations

import asyncio
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser

from aiosmtpd.controller import Controller

HANG = 60.0  # seconds a hung server keeps the client waiting: past any lease the tests configure


@dataclass
class FaultPlan:
    """What the server does to each recipient; first-attempt faults apply once, ``refuse`` always."""

    hang_at_rcpt: set[str] = field(default_factory=set)  # no answer to RCPT TO (first attempt)
    hang_at_data: set[str] = field(default_factory=set)  # message read, no answer, dropped (first attempt)
    drop_after_data: set[str] = field(default_factory=set)  # message read, connection closed (first attempt)
    soft_refuse: set[str] = field(default_factory=set)  # 451 to RCPT (first attempt)
    refuse: set[str] = field(default_factory=set)  # 550 to RCPT, every time
    accept_delay: float = 0.0  # seconds before each 250 to the message (a slow server)


class FaultyHandler:
    """aiosmtpd handler applying a :class:`FaultPlan`; thread-safe counters read by the test."""

    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan
        self.lock = threading.Lock()
        self.accepted: Counter[str] = Counter()
        self.message_ids: dict[str, set[str]] = defaultdict(set)
        self.accepted_at: list[float] = []
        self._tried: Counter[tuple[str, str]] = Counter()

    def _first(self, fault: str, address: str) -> bool:
        with self.lock:
            self._tried[(fault, address)] += 1
            return self._tried[(fault, address)] == 1

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.plan.hang_at_rcpt and self._first("rcpt-hang", address):
            await asyncio.sleep(HANG)
            return "421 too late"
        if address in self.plan.refuse:
            return "550 5.1.1 mailbox unavailable"
        if address in self.plan.soft_refuse and self._first("rcpt", address):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        content = envelope.original_content or envelope.content
        message_id = str(BytesParser(policy=policy.default).parsebytes(content, headersonly=True)["Message-ID"])
        [address] = envelope.rcpt_tos
        with self.lock:
            self.message_ids[address].add(message_id)
        if address in self.plan.hang_at_data and self._first("data", address):
            await asyncio.sleep(HANG)
            server.transport.close()  # never accepted
            return "451 gave up"
        if address in self.plan.drop_after_data and self._first("drop", address):
            server.transport.close()  # read it all, then went away without accepting it
            return "451 gone"
        if self.plan.accept_delay:
            await asyncio.sleep(self.plan.accept_delay)
        loop = asyncio.get_running_loop()
        with self.lock:
            self.accepted[address] += 1
            self.accepted_at.append(loop.time())
        return "250 2.0.0 accepted"


class FaultySmtpServer:
    """The server on an ephemeral loopback port; a context manager that stops it (and its hung sessions)."""

    def __init__(self, plan: FaultPlan) -> None:
        self.handler = FaultyHandler(plan)
        self._controller = _Ephemeral(self.handler, hostname="127.0.0.1", port=0)

    @property
    def port(self) -> int:
        return self._controller.port

    def __enter__(self) -> FaultySmtpServer:
        self._controller.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._controller.stop()


class _Ephemeral(Controller):
    def _trigger_server(self) -> None:
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()
