"""When to try a failed delivery again.

Mail servers and the wallet fail in bursts (greylisting, restarts, maintenance windows), so retries
back off exponentially, stop growing at a cap, and are jittered so a thousand credentials that
failed together do not all come back in the same second.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: attempt *n* failed → wait about ``base_delay * factor**(n-1)`` seconds.

    ``jitter`` is the fraction of each delay that is randomised downwards (0: exact, 1: anywhere
    between 0 and the full delay); ``rng`` can be seeded for reproducible schedules.
    """

    max_attempts: int = 8
    base_delay: float = 60.0
    factor: float = 2.0
    max_delay: float = 6 * 3600.0
    jitter: float = 0.25
    rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)  # noqa: S311 (not crypto)

    def __post_init__(self) -> None:
        checks = (
            ("max_attempts", self.max_attempts >= 1, "must be at least 1"),
            ("base_delay", self.base_delay > 0, "must be positive"),
            ("factor", self.factor >= 1, "must be at least 1"),
            ("max_delay", self.max_delay >= self.base_delay, "must not be below base_delay"),
            ("jitter", 0 <= self.jitter <= 1, "must be between 0 and 1"),
        )
        for name, ok, message in checks:
            if not ok:
                raise ValueError(f"{name}: {message}")

    def ceiling(self, attempt: int) -> float:
        """The un-jittered delay after failed attempt ``attempt`` (1-based), capped at ``max_delay``."""
        if attempt < 1:
            raise ValueError("attempt: counts from 1")
        # Compare exponents rather than computing factor**attempt, which overflows for large attempts.
        delay = self.base_delay
        for _ in range(attempt - 1):
            delay *= self.factor
            if delay >= self.max_delay:
                return self.max_delay
        return min(delay, self.max_delay)

    def next_delay(self, attempt: int, retry_after: float | None = None) -> float | None:
        """Seconds to wait after failed attempt ``attempt`` (1-based), or None when it was the last.

        A server's ``Retry-After`` hint raises the delay (never above ``max_delay``): retrying
        earlier than it asked only earns another refusal.
        """
        ceiling = self.ceiling(attempt)
        if attempt >= self.max_attempts:
            return None
        delay = ceiling * (1 - self.jitter * self.rng.random())
        if retry_after is not None and retry_after > delay:
            delay = min(retry_after, self.max_delay)
        return delay
