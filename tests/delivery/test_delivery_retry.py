"""RetryPolicy: exponential growth, cap, jitter bounds, last attempt, Retry-After."""
from __future__ import annotations

import random

import pytest

from bridge.delivery.retry import RetryPolicy
from bridge.delivery.wallet import RetryPolicy as ReExported


def test_ceiling_grows_exponentially_then_caps():
    policy = RetryPolicy(max_attempts=10, base_delay=10, factor=3, max_delay=500, jitter=0)
    assert [policy.ceiling(n) for n in range(1, 7)] == [10, 30, 90, 270, 500, 500]


def test_without_jitter_the_delay_is_the_ceiling():
    policy = RetryPolicy(max_attempts=5, base_delay=2, factor=2, max_delay=100, jitter=0)
    assert [policy.next_delay(n) for n in range(1, 6)] == [2, 4, 8, 16, None]


def test_jitter_stays_within_its_band_and_actually_varies():
    policy = RetryPolicy(max_attempts=20, base_delay=1, factor=2, max_delay=64, jitter=0.5, rng=random.Random(7))
    for attempt in range(1, 12):
        ceiling = policy.ceiling(attempt)
        samples = [policy.next_delay(attempt) for _ in range(200)]
        assert all(ceiling * 0.5 <= s <= ceiling for s in samples)
        assert len(set(samples)) > 100


def test_seeded_policies_give_the_same_schedule():
    def schedule(seed: int) -> list[float | None]:
        policy = RetryPolicy(max_attempts=6, rng=random.Random(seed))
        return [policy.next_delay(n) for n in range(1, 7)]

    assert schedule(3) == schedule(3)
    assert schedule(3) != schedule(4)
    assert schedule(3)[-1] is None


def test_retry_after_raises_the_delay_but_not_beyond_the_cap():
    policy = RetryPolicy(max_attempts=5, base_delay=10, factor=2, max_delay=300, jitter=0)
    assert policy.next_delay(1, retry_after=120) == 120
    assert policy.next_delay(1, retry_after=3) == 10
    assert policy.next_delay(1, retry_after=10_000) == 300
    assert policy.next_delay(5, retry_after=120) is None


def test_huge_attempt_numbers_do_not_overflow():
    policy = RetryPolicy(max_attempts=10**6, base_delay=1, factor=10, max_delay=3600, jitter=0)
    assert policy.next_delay(50_000) == 3600


@pytest.mark.parametrize("kwargs", [
    {"max_attempts": 0}, {"base_delay": 0}, {"factor": 0.5}, {"max_delay": 1, "base_delay": 5},
    {"jitter": 1.5}, {"jitter": -0.1},
])
def test_invalid_policies_are_refused(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs)) if "max_delay" not in kwargs else "max_delay"):
        RetryPolicy(**kwargs)


def test_attempts_count_from_one():
    with pytest.raises(ValueError, match="attempt"):
        RetryPolicy().next_delay(0)


def test_wallet_module_exposes_the_same_policy():
    assert ReExported is RetryPolicy
