#!/usr/bin/env python3
"""A fleet of replay devices through one MQTT broker: event loss, event latency, pose rate, costs.

    nice -n 10 python scripts/fleet_bench.py --devices 50 --seconds 60

Starts a Mosquitto on loopback (unless --broker HOST:PORT is given) and N real `edgepose run`
processes, each replaying recorded landmarks (`replay:` source, default config/replay-demo.jsonl.gz,
10 fps, looped) with its own device id, publishing poses at --pose-rate Hz and its activity events.
A Python subscriber takes `{prefix}/+/event` (QoS 1); `mosquitto_sub` counts `{prefix}/+/pose`
(QoS 0) on its own connection. The measured window starts --settle seconds after every device is
online and lasts --seconds; then the devices get SIGTERM (each delivers what it has queued, or
keeps it in its spool, and exits).

Reported:
- events: made (the highest sequence number seen per device run, plus those a device said it left
  in its spool at exit), received (distinct ids), lost (sequence numbers never received and not in
  a spool; the event id ends in `-{n}`, n = 1, 2, 3... per run), duplicates;
- event latency p50/p99/max: receive time minus the payload's `wall_ms`, for events made in the
  window (the same machine's clock at both ends);
- poses received per second in the window (and per device);
- broker CPU % of one core and device CPU % (summed) over the window, from /proc;
- RSS of each device process at the end of the window (median, max), the devices' summed PSS
  (what they take together on this box, shared library pages counted once) and the broker's RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

REPO = Path(__file__).resolve().parent.parent
DEFAULT_REPLAY = REPO / "config" / "replay-demo.jsonl.gz"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def now_ms() -> int:
    """Unix epoch milliseconds."""
    return time.time_ns() // 1_000_000


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14 and 15)


def rss_mb(pid: int) -> float:
    """Resident set size in MB (0 once the process is gone)."""
    try:
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except OSError:
        return 0.0
    return pages * PAGE_KB / 1024.0


def pss_mb(pid: int) -> float:
    """Proportional set size in MB: shared pages split between the processes sharing them."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def p99_per_slice(
    latencies: list[tuple[int, int]], t0_ms: int, t1_ms: int, slice_ms: int
) -> list[int | None]:
    """The p99 latency of the events made in each slice of the window (None for a slice without events)."""
    out: list[int | None] = []
    for start in range(t0_ms, t1_ms - slice_ms // 2, slice_ms):  # no half-empty last slice
        part = [lat for wall, lat in latencies if start <= wall < min(start + slice_ms, t1_ms)]
        out.append(round(percentile(part, 99)) if part else None)
    return out


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (nearest rank) of a non-empty list."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100.0 * len(ordered) + 0.5) - 1))
    return ordered[rank]


class LocalBroker:
    """A throw-away Mosquitto on 127.0.0.1 only, no persistence, no queue limits."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        conf = workdir / "mosquitto.conf"
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            "persistence false",
            f"log_dest file {workdir / 'mosquitto.log'}",
            "log_type error",
            "log_type warning",
            "max_queued_messages 0",
            "set_tcp_nodelay true",
        ]
        if os.geteuid() == 0:
            lines.append("user root")
        conf.write_text("\n".join(lines) + "\n")
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.proc = subprocess.Popen(
            [exe, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=(workdir / "stderr.log").open("wb")
        )
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"mosquitto exited with {self.proc.returncode}; see {workdir}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("mosquitto did not start within 10 s")

    def stop(self) -> None:
        """Terminate mosquitto."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@dataclass
class Tally:
    """What the subscriber saw; written by paho's network thread under `lock`."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    online: set[str] = field(default_factory=set)
    event_ids: set[str] = field(default_factory=set)
    duplicates: int = 0
    seqs: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))  # run -> sequence numbers
    run_device: dict[str, str] = field(default_factory=dict)
    latencies: list[tuple[int, int]] = field(default_factory=list)  # (wall_ms, latency ms)
    bad: int = 0


class PoseCounter:
    """`mosquitto_sub` on `{prefix}/+/pose`, printing only each message's receive time.

    A C client on its own connection: hundreds of pose messages a second cost the measuring side
    little, and they never queue in front of the events (which the Python subscriber takes).
    """

    def __init__(self, host: str, port: int, prefix: str) -> None:
        exe = shutil.which("mosquitto_sub") or "/usr/bin/mosquitto_sub"
        self.proc = subprocess.Popen(
            [exe, "-h", host, "-p", str(port), "-q", "0", "-t", f"{prefix}/+/pose", "-F", "%U"],
            stdout=subprocess.PIPE,
        )
        self.times_ms: list[int] = []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            seconds, _, nanos = line.strip().partition(b".")
            if seconds.isdigit():
                self.times_ms.append(int(seconds) * 1000 + int(nanos[:3] or b"0"))

    def close(self) -> None:
        """Stop mosquitto_sub."""
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self._thread.join(timeout=5)


class Subscriber:
    """One paho client on `{prefix}/+/event` and `{prefix}/+/status` (poses: see PoseCounter)."""

    def __init__(self, host: str, port: int, prefix: str) -> None:
        self.tally = Tally()
        self._prefix = prefix
        self._subscribed = threading.Event()
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"fleet-bench-{os.getpid()}",
            protocol=mqtt.MQTTv5,
        )
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.connect(host, port, keepalive=30)
        self.client.loop_start()
        if not self._subscribed.wait(10.0):
            raise SystemExit(f"could not subscribe at {host}:{port}")

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
        p = self._prefix
        client.subscribe([(f"{p}/+/event", 1), (f"{p}/+/status", 1)])

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, codes: Any, props: Any) -> None:
        self._subscribed.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        received_ms = now_ms()
        parts = msg.topic.split("/")
        device, kind = parts[-2], parts[-1]
        tally = self.tally
        if kind == "status":
            with tally.lock:
                (tally.online.add if msg.payload == b"online" else tally.online.discard)(device)
            return
        try:
            event = json.loads(msg.payload)
            event_id, wall_ms = str(event["id"]), int(event["wall_ms"])
            run, _, seq_text = event_id.rpartition("-")
            seq = int(seq_text)
        except (ValueError, KeyError, TypeError):
            with tally.lock:
                tally.bad += 1
            return
        with tally.lock:
            if event_id in tally.event_ids:
                tally.duplicates += 1
                return
            tally.event_ids.add(event_id)
            tally.seqs[run].add(seq)
            tally.run_device[run] = device
            tally.latencies.append((wall_ms, received_ms - wall_ms))

    def close(self) -> None:
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()


def device_config(
    path: Path, *, index: int, replay: Path, host: str, port: int, prefix: str, pose_rate_hz: float
) -> str:
    """Write one device's edgepose.toml; its device id."""
    device_id = f"bench{index:04d}"
    state = path.parent / f"state-{device_id}"
    state.mkdir(exist_ok=True)
    path.write_text(
        f"""[source]
uri = "replay:{replay}"
loop = true

[service]
publish = "mqtt"
state_directory = "{state}"
log_level = "info"

[mqtt]
host = "{host}"
port = {port}
device_id = "{device_id}"
topic_prefix = "{prefix}"
pose_rate_hz = {pose_rate_hz}
stats_interval_s = 10.0
"""
    )
    return device_id


def left_in_spool(log_text: str) -> int:
    """Events a device said it kept in its spool when it closed."""
    marker = "MQTT: closed ("
    for line in reversed(log_text.splitlines()):
        if marker in line:
            return int(line.split(marker, 1)[1].split()[0])
    return 0


def main() -> int:
    """Run the fleet, print the figures (and write them as JSON with --json)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=10, help="replay devices to start")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the measured window")
    parser.add_argument("--broker", metavar="HOST:PORT", help="use this broker instead of a local Mosquitto")
    parser.add_argument("--replay", type=Path, default=DEFAULT_REPLAY, help="recorded landmarks to play")
    parser.add_argument("--pose-rate", type=float, default=10.0, help="pose messages per second per device")
    parser.add_argument("--prefix", default="edgepose-bench", help="topic prefix of the fleet")
    parser.add_argument(
        "--start-timeout",
        type=float,
        default=0.0,
        help="seconds to wait for all online (0: 120 + 3 per device)",
    )
    parser.add_argument(
        "--settle", type=float, default=30.0, help="seconds between the last device online and the window"
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    if args.devices < 1 or args.seconds <= 0:
        parser.error("--devices and --seconds must be positive")

    workdir = Path(tempfile.mkdtemp(prefix="fleet-bench-"))
    broker: LocalBroker | None = None
    if args.broker:
        host, _, port_text = args.broker.rpartition(":")
        host, port = host or "127.0.0.1", int(port_text)
    else:
        broker = LocalBroker(workdir)
        host, port = "127.0.0.1", broker.port
    subscriber = Subscriber(host, port, args.prefix)
    poses = PoseCounter(host, port, args.prefix)
    procs: list[tuple[str, subprocess.Popen[bytes], Path]] = []
    try:
        for i in range(args.devices):
            conf = workdir / f"device{i:04d}.toml"
            device_id = device_config(
                conf,
                index=i,
                replay=args.replay.resolve(),
                host=host,
                port=port,
                prefix=args.prefix,
                pose_rate_hz=args.pose_rate,
            )
            log_path = workdir / f"{device_id}.log"
            with log_path.open("wb") as log_file:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "edgepose", "run", "--config", str(conf)],
                    stdout=subprocess.DEVNULL,
                    stderr=log_file,
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                )
            procs.append((device_id, proc, log_path))
        start_timeout = args.start_timeout or 120.0 + 3.0 * args.devices  # a loaded box starts slowly
        deadline = time.monotonic() + start_timeout
        while True:
            with subscriber.tally.lock:
                online = len(subscriber.tally.online)
            if online >= args.devices:
                break
            dead = [d for d, p, _ in procs if p.poll() is not None]
            if dead:
                raise SystemExit(f"device {dead[0]} exited early; see {workdir}/{dead[0]}.log")
            if time.monotonic() > deadline:
                raise SystemExit(f"only {online}/{args.devices} devices online after {start_timeout:.0f} s")
            time.sleep(0.5)
        startup_s = start_timeout - (deadline - time.monotonic())
        print(
            f"{args.devices} devices online after {startup_s:.1f} s; measuring {args.seconds:.0f} s",
            flush=True,
        )

        time.sleep(args.settle)  # starting N Python processes loads the box; let that pass
        watched = [p.pid for _, p, _ in procs] + ([broker.proc.pid] if broker else [])
        cpu0 = {pid: cpu_seconds(pid) for pid in watched}
        load0 = os.getloadavg()
        t0_ms, t0 = now_ms(), time.monotonic()
        time.sleep(args.seconds)
        t1_ms, elapsed = now_ms(), time.monotonic() - t0
        cpu1 = {pid: cpu_seconds(pid) for pid in watched}
        rss = [rss_mb(p.pid) for _, p, _ in procs]
        pss = [pss_mb(p.pid) for _, p, _ in procs]
        broker_rss = rss_mb(broker.proc.pid) if broker else None
        load1 = os.getloadavg()

        for _, proc, _ in procs:
            proc.send_signal(signal.SIGTERM)
        for _, proc, _ in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        time.sleep(2.0)  # the last PUBLISHes reach the subscriber
    finally:
        for _, proc, _ in procs:
            if proc.poll() is None:
                proc.kill()
        subscriber.close()
        poses.close()
        if broker is not None:
            broker.stop()

    tally = subscriber.tally
    spooled = sum(left_in_spool(log.read_text(errors="replace")) for _, _, log in procs)
    made = sum(max(seqs) for seqs in tally.seqs.values()) + spooled
    gaps = sum(max(seqs) - len(seqs) for seqs in tally.seqs.values())
    window = [lat for wall, lat in tally.latencies if t0_ms <= wall <= t1_ms]
    poses_in_window = sum(1 for t in poses.times_ms if t0_ms <= t <= t1_ms)
    device_pids = [p.pid for _, p, _ in procs]
    device_cpu = sum(cpu1[pid] - cpu0[pid] for pid in device_pids) / elapsed * 100.0
    figures: dict[str, Any] = {
        "devices": args.devices,
        "seconds": round(elapsed, 1),
        "events_made": made,
        "events_received": len(tally.event_ids),
        "events_lost": gaps,
        "events_left_in_spools": spooled,
        "duplicates": tally.duplicates,
        "malformed": tally.bad,
        "device_runs": len(tally.seqs),
        "events_in_window": len(window),
        "latency_p50_ms": percentile(window, 50) if window else None,
        "latency_p99_ms": percentile(window, 99) if window else None,
        "latency_max_ms": max(window) if window else None,
        "latency_p99_ms_per_10s": p99_per_slice(tally.latencies, t0_ms, t1_ms, 10_000),
        "poses_per_s": round(poses_in_window / elapsed, 1),
        "poses_per_s_per_device": round(poses_in_window / elapsed / args.devices, 2),
        "broker_cpu_pct": round((cpu1[broker.proc.pid] - cpu0[broker.proc.pid]) / elapsed * 100.0, 1)
        if broker
        else None,
        "devices_cpu_pct": round(device_cpu, 1),
        "device_rss_mb_median": round(statistics.median(rss), 1),
        "device_rss_mb_max": round(max(rss), 1),
        "devices_pss_mb_total": round(sum(pss), 1),
        "broker_rss_mb": round(broker_rss, 1) if broker_rss is not None else None,
        "loadavg_1m_start_end": [round(load0[0], 2), round(load1[0], 2)],
        "cpus": os.cpu_count(),
        "startup_s": round(startup_s, 1),
    }
    for key, value in figures.items():
        print(f"{key:>24}: {value}")
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    if figures["events_lost"] == 0 and figures["malformed"] == 0:
        shutil.rmtree(workdir, ignore_errors=True)
        return 0
    print(f"device logs kept in {workdir}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
