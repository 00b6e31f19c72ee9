"""The pacer both publishers use for the pose stream and the stats topic."""

from __future__ import annotations

from edgepose.publish.pacing import Pacer


class Clock:
    """A hand-moved clock."""

    def __init__(self) -> None:
        self.now_s = 100.0

    def __call__(self) -> float:
        return self.now_s


def count_due(pacer: Pacer, clock: Clock, step_s: float, steps: int) -> int:
    due = 0
    for _ in range(steps):
        due += pacer.due()
        clock.now_s += step_s
    return due


def test_steady_rate_is_exact_on_average() -> None:
    clock = Clock()
    # 5 Hz from frames every 30 ms (33.3 fps) over 10 s: exactly 50, not 45 (what restarting
    # the period at each message would give with 6-frame gaps of 180 ms).
    assert count_due(Pacer.per_second(5.0, clock=clock), clock, 0.030, 334) == 50


def test_steady_pacer_does_not_burst_after_a_gap() -> None:
    clock = Clock()
    pacer = Pacer.per_second(10.0, clock=clock)
    assert pacer.due()
    clock.now_s += 5.0  # nothing sent for 5 s (broker down)
    assert pacer.due()
    assert not pacer.due()  # the missed 49 slots are not sent in a burst


def test_interval_pacer_and_a_zero_rate() -> None:
    clock = Clock()
    stats = Pacer(10.0, clock=clock)
    assert count_due(stats, clock, 1.0, 35) == 4  # at 0, 10, 20, 30 s
    off = Pacer.per_second(0.0, clock=clock)
    assert count_due(off, clock, 1.0, 5) == 0
