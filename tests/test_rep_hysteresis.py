"""The repetition counter's hysteresis: when a repetition counts, is dropped, or may start."""

from __future__ import annotations

from edgepose.activity.reps import Hysteresis


def _feed(counter: Hysteresis, values: list[float], **kwargs: bool) -> list[tuple[int, float, float]]:
    done = []
    for i, v in enumerate(values):
        got = counter.update(v, True, i * 100, **kwargs)
        if got is not None:
            done.append(got)
    return done


KNEE_DOWN_UP = [175.0, 150.0, 110.0, 90.0, 110.0, 150.0, 170.0]


def test_a_squat_counts_when_the_knee_comes_back() -> None:
    (rep,) = _feed(Hysteresis(115.0, 160.0), KNEE_DOWN_UP)
    assert rep == (600, 90.0, 175.0)


def test_knees_straightening_without_the_body_at_rest_drop_the_repetition() -> None:
    counter = Hysteresis(115.0, 160.0)
    assert _feed(counter, KNEE_DOWN_UP, can_exit=False) == []
    assert not counter.inside
    # Back at rest: the next one counts again.
    assert len(_feed(counter, KNEE_DOWN_UP)) == 1


def test_a_counter_that_rests_only_within_its_gate_needs_that_rest_first() -> None:
    counter = Hysteresis(100.0, 150.0, armed=False, rest_in_gate=True)
    # Arms straight while the gate is closed (not yet horizontal), then bent inside the gate: no rep.
    assert counter.update(170.0, False, 0) is None
    for i, elbow in enumerate([90.0, 120.0, 165.0]):
        assert counter.update(elbow, True, 100 + i * 100) is None
    # From the plank's top (straight arms, gate open) a push-up counts.
    assert len(_feed(counter, [165.0, 120.0, 90.0, 120.0, 165.0])) == 1
