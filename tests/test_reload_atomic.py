"""A config reload is all or nothing: every new stage is built first, and a failure leaves the
running pipeline, activity engine, publisher and config exactly as they were."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from edgepose.config import Config, load_config
from edgepose.config.model import ModelConfig
from edgepose.errors import EdgeposeError
from edgepose.publish.base import Publisher
from edgepose.publish.stdout import StdoutPublisher
from edgepose.service import Pipeline, Service, build_pipeline
from tests.plugins.daemon import fast_model


class Made:
    """Every pipeline and publisher the service asked for, and which were closed."""

    def __init__(self, fail_publisher_at: int = 0) -> None:
        self.pipelines: list[Pipeline] = []
        self.closed: list[Pipeline] = []
        self.publishers: list[Publisher] = []
        self._fail_at = fail_publisher_at

    def pipeline(self, config: ModelConfig) -> Pipeline:
        made = build_pipeline(config)
        real_close = made.close

        def close() -> None:
            self.closed.append(made)
            real_close()

        made.close = close  # type: ignore[method-assign]
        self.pipelines.append(made)
        return made

    def publisher(self, config: Config) -> Publisher:
        if len(self.publishers) + 1 == self._fail_at:
            raise EdgeposeError("the new broker settings cannot be used")
        self.publishers.append(StdoutPublisher(config.mqtt, stream=io.StringIO()))
        return self.publishers[-1]


def _run_with_reload(service: Service, at_frame: int, before_reload: Callable[[], None]) -> dict[str, object]:
    """Run until a few frames after a reload at `at_frame`; what was in use just before it."""
    seen: dict[str, object] = {}
    frames = [0]

    def observe(*_: object) -> None:
        frames[0] += 1
        if frames[0] == at_frame:
            seen.update(
                pipeline=service._pipeline,
                activity=service._activity,
                publisher=service.publisher,
                config=service.config,
            )
            before_reload()
            service.request_reload()
        elif frames[0] == at_frame + 5:
            service.stop()

    service.add_observer(observe)
    assert service.run() == 0
    return seen


def _assert_unchanged(service: Service, seen: dict[str, object], made: Made) -> None:
    assert service.config is seen["config"]
    assert service._activity is seen["activity"]
    assert service.publisher is seen["publisher"]
    assert made.pipelines[0] is seen["pipeline"]
    assert made.pipelines[0] not in made.closed[:-1]  # only closed at the very end, by the shutdown


def test_new_model_and_a_missing_classifier_changes_nothing(
    daemon_config: Callable[..., Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The case that swapped the model while the log said "keeping the running config"."""
    path = daemon_config()
    made = Made()
    service = Service(
        load_config(path), config_path=path, pipeline_factory=made.pipeline, publisher_factory=made.publisher
    )
    caplog.set_level(logging.INFO, logger="edgepose.service")

    def break_config() -> None:
        daemon_config(
            model={**fast_model(), "variant": "full", "num_poses": 1},
            **{"activity.classifier": {"path": str(tmp_path / "missing-classifier.json")}},
        )

    seen = _run_with_reload(service, 10, break_config)
    _assert_unchanged(service, seen, made)
    assert len(made.pipelines) == 1  # the new model was not even loaded
    failed = [r.getMessage() for r in caplog.records if "config reload failed" in r.getMessage()]
    assert len(failed) == 1 and "missing-classifier.json" in failed[0]


def test_a_stage_failing_to_build_leaves_everything_as_it_was(
    daemon_config: Callable[..., Path], caplog: pytest.LogCaptureFixture
) -> None:
    """The model builds, then the publisher cannot be made: the new model is closed, the old one kept."""
    path = daemon_config()
    made = Made(fail_publisher_at=2)
    service = Service(
        load_config(path), config_path=path, pipeline_factory=made.pipeline, publisher_factory=made.publisher
    )
    caplog.set_level(logging.INFO, logger="edgepose.service")

    def change_model_and_broker() -> None:
        daemon_config(
            model={**fast_model(), "num_poses": 1},
            mqtt={"device_id": "another", "discovery": False},
            **{"activity.presence": {"enter_ms": 100}},
        )

    seen = _run_with_reload(service, 10, change_model_and_broker)
    _assert_unchanged(service, seen, made)
    assert len(made.pipelines) == 2 and made.closed[0] is made.pipelines[1]  # built, then discarded
    assert len(made.publishers) == 1
    assert any("config reload failed" in r.getMessage() for r in caplog.records)
    assert not any("config reloaded" in r.getMessage() for r in caplog.records)


def test_a_good_reload_still_swaps_every_changed_stage(daemon_config: Callable[..., Path]) -> None:
    path = daemon_config()
    made = Made()
    service = Service(
        load_config(path), config_path=path, pipeline_factory=made.pipeline, publisher_factory=made.publisher
    )

    def change() -> None:
        daemon_config(
            model={**fast_model(), "num_poses": 1},
            mqtt={"device_id": "another", "discovery": False},
        )

    seen = _run_with_reload(service, 10, change)
    assert service.config is not seen["config"] and service.config.model.num_poses == 1
    assert len(made.pipelines) == 2 and made.closed[0] is made.pipelines[0]
    assert service.publisher is made.publishers[1]
