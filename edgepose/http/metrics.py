"""/metrics in the Prometheus text format, built from the hub's counters at scrape time.

The hub keeps plain counters (cheap in the processing loop); this module only runs when
Prometheus scrapes. Times are exported in seconds, as Prometheus' naming rules ask.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from edgepose.http.hub import STAGE_BUCKETS_MS, PreviewHub, SourceState

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class HubCollector(Collector):
    """Turns one `Counters` read of the hub into metric families."""

    def __init__(self, hub: PreviewHub) -> None:
        self._hub = hub

    def collect(self) -> Iterator[Metric]:
        """Every edgepose metric, read from the hub in one go."""
        c = self._hub.counters()
        yield CounterMetricFamily("edgepose_frames", "Frames processed.", value=c.frames)
        yield CounterMetricFamily(
            "edgepose_dropped_frames",
            "Frames the capture dropped because processing was busy.",
            value=c.dropped_frames,
        )
        yield GaugeMetricFamily("edgepose_fps", "Processed frames per second (service figure).", value=c.fps)
        yield GaugeMetricFamily("edgepose_people", "People in the latest frame.", value=c.people)

        stages = HistogramMetricFamily(
            "edgepose_stage_duration_seconds",
            "Time per frame spent in each pipeline stage.",
            labels=["stage"],
        )
        bounds = [f"{ms / 1000.0:g}" for ms in STAGE_BUCKETS_MS] + ["+Inf"]
        for stage, hist in c.stages:
            buckets = list(zip(bounds, hist.bucket_counts, strict=True))
            stages.add_metric([stage.value], buckets, hist.sum_ms / 1000.0)
        yield stages

        yield CounterMetricFamily(
            "edgepose_detector_runs",
            "Person-detector runs (a zoomed search runs it on several regions of one frame).",
            value=c.detector_runs,
        )
        search = CounterMetricFamily(
            "edgepose_search_frames",
            "Frames by the person search's decision: not_needed (everyone tracked), motion, sweep, "
            "skipped (nothing moved, no sweep due) or ungated.",
            labels=["decision"],
        )
        for decision, count in c.search_frames:
            search.add_metric([decision.value], count)
        yield search

        events = CounterMetricFamily("edgepose_events", "Activity events emitted, by type.", labels=["type"])
        for event_type, count in c.events_by_type:
            events.add_metric([event_type.value], count)
        yield events

        if c.publisher_connected is not None:
            yield GaugeMetricFamily(
                "edgepose_mqtt_connected",
                "1 while the MQTT connection is up.",
                value=int(c.publisher_connected),
            )
        if c.spool_depth is not None:
            yield GaugeMetricFamily(
                "edgepose_spool_depth", "Events waiting in the spool for delivery.", value=c.spool_depth
            )

        source = GaugeMetricFamily(
            "edgepose_source_state", "1 for the frame source's current state.", labels=["state"]
        )
        for state in SourceState:
            source.add_metric([state.value], int(state is c.source))
        yield source
        if c.last_frame_age_s is not None:
            yield GaugeMetricFamily(
                "edgepose_last_frame_age_seconds",
                "Seconds since the last processed frame.",
                value=c.last_frame_age_s,
            )
        yield GaugeMetricFamily(
            "edgepose_preview_viewers", "Clients watching the image stream.", value=c.viewers
        )
        yield CounterMetricFamily(
            "edgepose_preview_encoded_frames",
            "Preview frames drawn and JPEG-encoded.",
            value=c.encoded_frames,
        )


def make_registry(hub: PreviewHub) -> CollectorRegistry:
    """A private registry (not the process-global one) holding only the hub's metrics."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HubCollector(hub))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    """The text exposition of a registry."""
    return generate_latest(registry)
