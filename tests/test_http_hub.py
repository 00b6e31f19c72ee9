"""PreviewHub: references only, events window, health transitions, counters, viewers, listeners."""

from __future__ import annotations

import threading

import numpy as np

from edgepose.http.hub import STAGE_BUCKETS_MS, PreviewHub, SourceState, Stage
from edgepose.types import Event, EventType, Frame, Pose, PoseResult, StageTimings


class Clock:
    """A hand-moved monotonic clock."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _frame(i: int) -> Frame:
    return Frame(np.zeros((48, 64, 3), np.uint8), i * 40, i)


def _result(i: int, people: int = 1, detector_ran: bool = True) -> PoseResult:
    lm = np.zeros((33, 5), np.float32)
    poses = tuple(Pose(lm, None, 0.9, k + 1) for k in range(people))
    timings = StageTimings(1.0, 4.0, 12.0, 0.5, 17.5, detector_ran)
    return PoseResult(i * 40, i, 64, 48, poses, timings)


def _event(i: int, kind: EventType = EventType.REP) -> Event:
    return Event(f"e{i}", kind, i * 40, 1, {"count": i}, 1_733_150_000_000 + i * 40)


def test_update_stores_the_same_objects_and_counts_frames() -> None:
    hub = PreviewHub()
    frame, result = _frame(1), _result(1)
    hub.update(frame, result)
    snap = hub.snapshot()
    assert snap.seq == 1
    assert snap.frame is frame  # a reference, not a copy: nothing is drawn or encoded here
    assert snap.result is result
    assert hub.counters().encoded_frames == 0


def test_state_and_stats_persist_until_replaced() -> None:
    from edgepose.types import ActivityState, ServiceStats

    hub = PreviewHub()
    state = ActivityState(0, 1)
    stats = ServiceStats(0, 12.5, 1, 3, 4.0, 9.0, "cpu", 2)
    hub.update(_frame(0), _result(0), state=state, stats=stats)
    hub.update(_frame(1), _result(1))
    snap = hub.snapshot()
    assert snap.state is state and snap.stats is stats
    c = hub.counters()
    assert (c.frames, c.dropped_frames, c.fps, c.people) == (2, 3, 12.5, 1)


def test_events_after_keeps_a_window_in_order() -> None:
    hub = PreviewHub(recent_events=3)
    for i in range(5):
        hub.update(_frame(i), _result(i), [_event(i)])
    seq, events = hub.events_after(0)
    assert seq == 5
    assert [e.id for e in events] == ["e2", "e3", "e4"]
    assert [e.id for e in hub.events_after(4)[1]] == ["e4"]  # e0 has seq 1
    assert hub.events_after(5)[1] == ()


def test_health_goes_from_waiting_to_ok_to_stale_and_to_ended() -> None:
    clock = Clock()
    hub = PreviewHub(stale_after_s=2.0, clock=clock)
    h = hub.health()
    assert not h.ok and h.reason == "no frame processed yet" and h.source is SourceState.STARTING
    hub.update(_frame(0), _result(0))
    assert hub.health().ok and hub.health().source is SourceState.RUNNING
    clock.now += 1.5
    assert hub.health().ok
    clock.now += 1.0
    h = hub.health()
    assert not h.ok and "no frame processed for 2.5 s" in h.reason
    hub.update(_frame(1), _result(1))
    assert hub.health().ok
    hub.set_source_state(SourceState.ENDED, "end of file")
    h = hub.health()
    assert not h.ok and h.reason == "source ended: end of file"
    hub.set_source_state(SourceState.FAILED, "camera unplugged")
    assert hub.health().reason == "source failed: camera unplugged"


def test_histograms_and_event_counts() -> None:
    hub = PreviewHub()
    hub.update(_frame(0), _result(0, detector_ran=True), [_event(0), _event(1, EventType.PERSON_ENTERED)])
    hub.update(_frame(1), _result(1, detector_ran=False), [_event(2)])
    c = hub.counters()
    stages = dict(c.stages)
    # The detector did not run on the second frame: only one observation.
    assert stages[Stage.DETECTOR].bucket_counts[-1] == 1
    assert stages[Stage.LANDMARK].bucket_counts[-1] == 2
    assert stages[Stage.TOTAL].sum_ms == 35.0
    # 17.5 ms falls in the (15, 20] bucket: cumulative counts jump there.
    idx = STAGE_BUCKETS_MS.index(20.0)
    assert stages[Stage.TOTAL].bucket_counts[idx - 1] == 0
    assert stages[Stage.TOTAL].bucket_counts[idx] == 2
    assert dict(c.events_by_type) == {EventType.REP: 2, EventType.PERSON_ENTERED: 1}


def test_viewers_are_counted_while_watching() -> None:
    hub = PreviewHub()
    assert hub.viewers == 0
    with hub.watching():
        with hub.watching():
            assert hub.viewers == 2
        assert hub.viewers == 1
    assert hub.viewers == 0


def test_listeners_get_each_seq_from_the_updating_thread() -> None:
    hub = PreviewHub()
    seen: list[tuple[int, str]] = []

    def listener(seq: int) -> None:
        seen.append((seq, threading.current_thread().name))

    hub.add_listener(listener)
    worker = threading.Thread(target=lambda: hub.update(_frame(0), _result(0)), name="proc")
    worker.start()
    worker.join()
    hub.remove_listener(listener)
    hub.update(_frame(1), _result(1))
    assert seen == [(1, "proc")]


def test_publisher_status_is_read_at_scrape_time() -> None:
    class Pub:
        connected = False
        spool_depth = 0

    hub = PreviewHub()
    assert hub.counters().publisher_connected is None
    pub = Pub()
    hub.attach_publisher(pub)
    pub.connected, pub.spool_depth = True, 7
    c = hub.counters()
    assert c.publisher_connected is True and c.spool_depth == 7
