"""Soak benchmark (not a test): the daemon for a long run with a camera and a broker that go away.

    python scripts/soak.py --minutes 30 [--video PATH] [--json out.json]

Runs `edgepose run` on a looping clip served as an MJPEG network camera (tools.evaluation.
mjpeg_stream), publishing to a Mosquitto started here, with one viewer on /stream.mjpg. At 1/6,
2/6 .. 5/6 of the run it unplugs the camera for 20 s (twice) and restarts the broker (twice, 5 s
down). It reports RSS, open file descriptors and threads of the daemon at the start (after a
warm-up) and at the end, events lost (gaps in the event ids, which count up per run), and the
seconds until poses flow again after each fault.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edgepose.paths import media_dir
from tools.evaluation.mjpeg_stream import MjpegStream

REPO = Path(__file__).resolve().parent.parent
DEVICE = "soak"
WARMUP_S = 60.0


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Broker:
    """Mosquitto on a loopback port, with persistence, restartable on the same port."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.conf = folder / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\nuser root\n"
            f"persistence_location {folder}/\nlog_dest file {folder}/mosquitto.log\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start mosquitto and wait until it accepts connections."""
        self.proc = subprocess.Popen(
            [shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c", str(self.conf)]
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        """Stop mosquitto."""
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


class Listener:
    """A persistent-session subscriber: event ids, and when the last pose arrived."""

    def __init__(self, port: int) -> None:
        self.event_ids: set[str] = set()
        self.last_pose_s = 0.0
        self.poses = 0
        self.last_stats: dict[str, object] = {}
        self._lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="soak-listener", clean_session=False)
        self.client.on_connect = lambda c, *_: c.subscribe(f"edgepose/{DEVICE}/#", qos=1)
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(1, 1)
        self.client.connect_async("127.0.0.1", port, keepalive=10)
        self.client.loop_start()

    def _on_message(self, _client: mqtt.Client, _userdata: object, msg: mqtt.MQTTMessage) -> None:
        kind = msg.topic.rsplit("/", 1)[-1]
        with self._lock:
            if kind == "pose":
                self.last_pose_s = time.monotonic()
                self.poses += 1
            elif kind == "event":
                self.event_ids.add(str(json.loads(msg.payload)["id"]))
            elif kind == "stats":
                self.last_stats = json.loads(msg.payload)

    def poses_after(self, since_s: float, timeout_s: float = 120.0) -> float | None:
        """Seconds from `since_s` until a pose arrived after it; None if none came."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if self.last_pose_s > since_s:
                    return self.last_pose_s - since_s
            time.sleep(0.1)
        return None

    def lost_events(self) -> tuple[int, int]:
        """(events received, ids missing between the first and last of each run)."""
        runs: dict[str, list[int]] = {}
        for event_id in self.event_ids:
            prefix, _, number = event_id.rpartition("-")
            runs.setdefault(prefix, []).append(int(number))
        missing = sum(max(ns) - min(ns) + 1 - len(ns) for ns in runs.values())
        return len(self.event_ids), missing


def process_figures(pid: int) -> dict[str, float]:
    """RSS (MiB), open fds and threads of a process, from /proc."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss_kib = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
    threads = int(re.search(r"Threads:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
    return {
        "rss_mib": round(rss_kib / 1024, 1),
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
        "threads": threads,
    }


def viewer(url: str, stop: threading.Event) -> None:
    """One preview viewer reading /stream.mjpg, reconnecting while the run lasts."""
    while not stop.is_set():
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                while not stop.is_set() and response.read(65536):
                    pass
        except OSError:
            stop.wait(1.0)


def main() -> int:
    """Run the soak and print the report (and write it as JSON when asked)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="length of the run (default 30)")
    parser.add_argument("--video", type=Path, default=media_dir() / "vtest.avi")
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args()
    total_s = args.minutes * 60.0
    work = Path(tempfile.mkdtemp(prefix="edgepose-soak-"))
    broker = Broker(work)
    broker.start()
    camera = MjpegStream(args.video, free_port(), user="soak", password="soak-pass")
    camera.plug()
    http_port = free_port()
    config = work / "edgepose.toml"
    config.write_text(
        f'[source]\nuri = "http://soak:soak-pass@127.0.0.1:{camera.port}/stream.mjpg"\n'
        "read_timeout_s = 2.0\nreopen_initial_s = 0.5\nreopen_max_s = 4.0\n"
        '[model]\nvariant = "lite"\nprecision = "int8"\nthreads = 2\n'
        f'[service]\npublish = "mqtt"\nstate_directory = "{work}/state"\n'
        f'[mqtt]\nhost = "127.0.0.1"\nport = {broker.port}\ndevice_id = "{DEVICE}"\ndiscovery = false\n'
        "stats_interval_s = 5.0\n"
        f"[http]\nenabled = true\nport = {http_port}\n"
    )
    listener = Listener(broker.port)
    log_path = work / "daemon.log"
    with log_path.open("w") as log_file:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "edgepose", "run", "--config", str(config)],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
        )
    stop_viewer = threading.Event()
    threading.Thread(
        target=viewer, args=(f"http://127.0.0.1:{http_port}/stream.mjpg", stop_viewer), daemon=True
    ).start()
    started = time.monotonic()
    report: dict[str, object] = {"minutes": args.minutes, "faults": []}
    faults: list[dict[str, object]] = []
    try:
        first = listener.poses_after(0.0, timeout_s=120)
        report["first_pose_s"] = None if first is None else round(time.monotonic() - started, 1)
        time.sleep(min(WARMUP_S, total_s / 10))
        report["start"] = process_figures(daemon.pid)
        schedule = ["camera", "broker", "camera", "broker"]
        for index, kind in enumerate(schedule, start=1):
            at = started + total_s * index / (len(schedule) + 1)
            time.sleep(max(0.0, at - time.monotonic()))
            if kind == "camera":
                camera.unplug()
                time.sleep(20.0)
                back = time.monotonic()
                camera.plug()
            else:
                broker.stop()
                time.sleep(5.0)
                back = time.monotonic()
                broker.start()
            waited = listener.poses_after(back)
            faults.append({"fault": kind, "poses_after_s": None if waited is None else round(waited, 1)})
            print(f"{kind} back: poses after {waited} s", flush=True)
        time.sleep(max(0.0, started + total_s - time.monotonic()))
        report["end"] = process_figures(daemon.pid)
        report["alive"] = daemon.poll() is None
    finally:
        stop_viewer.set()
        daemon.send_signal(signal.SIGTERM)
        try:
            report["exit_code"] = daemon.wait(30)
        except subprocess.TimeoutExpired:
            daemon.kill()
            report["exit_code"] = "killed"
        time.sleep(2.0)
        listener.client.loop_stop()
        camera.unplug()
        broker.stop()
    received, missing = listener.lost_events()
    report.update(faults=faults, events_received=received, events_missing=missing, poses=listener.poses)
    if "start" in report and "end" in report:
        start, end = report["start"], report["end"]
        assert isinstance(start, dict) and isinstance(end, dict)
        report["rss_growth_mib"] = round(end["rss_mib"] - start["rss_mib"], 1)
    text = json.dumps(report, indent=2)
    print(text)
    if args.json is not None:
        args.json.write_text(text + "\n")
    print(f"daemon log: {log_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
