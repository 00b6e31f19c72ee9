"""`edgepose activity`: replay recorded landmarks through the activity engine, events as JSON lines."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add the `activity` subcommand."""
    parser = subparsers.add_parser(
        "activity",
        help="replay `edgepose track` output through the activity rules",
        description=__doc__,
    )
    parser.add_argument(
        "--landmarks",
        type=Path,
        required=True,
        metavar="FILE",
        help="output of `edgepose track` (.jsonl[.gz])",
    )
    parser.add_argument(
        "--config", type=Path, metavar="FILE", help="edgepose.toml; its [activity] table is used"
    )
    parser.add_argument("--state", action="store_true", help="also print the final state as a JSON line")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Feed every frame to a fresh engine and print each event as it happens."""
    from edgepose.activity.engine import ActivityEngine
    from edgepose.cli._landmarks import read_landmarks
    from edgepose.config import load_config
    from edgepose.publish.payloads import event_payload, state_payload

    config = load_config(args.config)
    engine = ActivityEngine(config.activity, id_prefix="replay")
    state = None
    for result in read_landmarks(args.landmarks):
        events, state = engine.update(result)
        wall_ms = time.time_ns() // 1_000_000
        for event in events:
            print(json.dumps(event_payload(event.with_wall_ms(wall_ms))), flush=True)  # noqa: T201
    if args.state and state is not None:
        print(json.dumps({"state": state_payload(state)}))  # noqa: T201
    return 0
