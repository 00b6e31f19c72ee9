"""The preview and kiosk pages in headless Chromium, over a hub fed with real poses from a real clip.

Set EDGEPOSE_DOCS_SCREENSHOTS=1 to also write docs/preview.png and docs/kiosk.png.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from edgepose.http.hub import PreviewHub
from tests.plugins.chromium import Browser, Page
from tests.plugins.http import ClipFeeder, ClipFrame, bone_pixels, wait_until

pytestmark = pytest.mark.slow

LIVE = "document.getElementById('conn').textContent === 'live'"
IMAGE_SHOWN = "document.getElementById('stream').naturalWidth > 0"


def image_rect(page: Page) -> tuple[int, int, int, int]:
    rect = page.eval("JSON.stringify(document.getElementById('stream').getBoundingClientRect().toJSON())")
    r = json.loads(rect)
    return int(r["x"]), int(r["y"]), int(r["width"]), int(r["height"])


def docs_screenshot(page: Page, repo_root: Path, name: str) -> None:
    if os.environ.get("EDGEPOSE_DOCS_SCREENSHOTS") != "1":
        return
    rgb = page.screenshot()
    # Fewer colours compress far better and keep the committed PNGs small.
    posterised = (rgb // 8 * 8 + 4).astype(np.uint8)
    out = repo_root / "docs" / name
    out.parent.mkdir(exist_ok=True)
    cv2.imwrite(str(out), cv2.cvtColor(posterised, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])


def test_preview_shows_skeletons_counters_and_survives_a_restart(
    chromium: Browser,
    zidane_clip: list[ClipFrame],
    http_server: Callable[..., Any],
    feeder: Callable[..., ClipFeeder],
    repo_root: Path,
) -> None:
    hub = PreviewHub()
    server = http_server(hub, device_id="gym-pi")
    play = feeder(hub, zidane_clip, fps=15, rep_every=8).start()
    page = chromium.new_page(1100, 640)
    page.goto(server.url + "/")
    page.wait_for(LIVE)
    page.wait_for(IMAGE_SHOWN)
    page.wait_for("Number(document.getElementById('people').textContent) >= 1")
    assert page.eval("document.getElementById('device').textContent") == "gym-pi"
    assert hub.viewers == 1  # the page's <img> holds the MJPEG stream

    # A skeleton is drawn over the image: its bone colour shows up inside the image, nowhere else.
    x, y, w, h = image_rect(page)
    assert w > 300 and h > 200
    # The clip opens with frames where nobody is found yet: look at a few screenshots.
    best, shot = 0, page.screenshot()
    for _ in range(30):
        shot = page.screenshot()
        best = bone_pixels(shot[y : y + h, x : x + w])
        if best > 200:
            break
        time.sleep(0.1)
    inside = best
    assert inside > 200, f"only {inside} skeleton pixels in the image area"
    assert bone_pixels(shot) - inside < 50

    # Events arrive and the counters move with them.
    count0 = int(page.eval("document.getElementById('event-count').textContent"))
    page.wait_for(f"Number(document.getElementById('event-count').textContent) >= {count0 + 2}")
    first_event = page.eval("document.querySelector('#events li').textContent")
    assert "rep: squat" in first_event
    page.wait_for("document.querySelector('#tracks tbody td:nth-child(3)').textContent.startsWith('squat ')")
    timing = page.eval("document.getElementById('t-landmark').textContent")
    assert timing.endswith(" ms")
    docs_screenshot(page, repo_root, "preview.png")

    # The daemon restarts (new server, new boot id, same port): the page reconnects by itself.
    port = server.port
    play.stop()
    server.close()
    page.wait_for("document.getElementById('conn').textContent === 'reconnecting'", timeout_s=10)
    hub2 = PreviewHub()
    server2 = http_server(hub2, device_id="gym-pi-2", port=port)
    feeder(hub2, zidane_clip, fps=15, rep_every=4, reps_start=40).start()
    page.wait_for(LIVE + " && document.getElementById('device').textContent === 'gym-pi-2'", timeout_s=20)
    page.wait_for(
        "document.querySelector('#events li') && "
        "document.querySelector('#events li').textContent.includes('squat 4')",
        timeout_s=20,
    )
    page.wait_for(IMAGE_SHOWN)
    assert server2.port == port
    # The stream was re-opened against the new server.
    wait_until(lambda: hub2.viewers == 1, timeout_s=10)
    assert hub2.counters().encoded_frames > 0


def test_kiosk_shows_big_counters_that_follow_the_reps(
    chromium: Browser,
    zidane_clip: list[ClipFrame],
    http_server: Callable[..., Any],
    feeder: Callable[..., ClipFeeder],
    repo_root: Path,
) -> None:
    hub = PreviewHub()
    server = http_server(hub, kiosk_title="Squat rack")
    play = feeder(hub, zidane_clip, fps=15, rep_every=6).start()
    page = chromium.new_page(1280, 720)
    page.goto(server.url + "/kiosk")
    page.wait_for(LIVE)
    assert page.eval("document.getElementById('title').textContent") == "Squat rack"
    page.wait_for("document.querySelector('.card .count') !== null")
    first = int(page.eval("document.querySelector('.card .count').textContent"))
    page.wait_for(f"Number(document.querySelector('.card .count').textContent) >= {first + 2}")
    assert page.eval("document.querySelector('.card .rep .label').textContent") == "squat"
    assert "rep: squat" in page.eval("document.querySelector('#events li').textContent")
    # Large type: the counter is at least a tenth of the screen tall.
    size = page.eval("parseFloat(getComputedStyle(document.querySelector('.card .count')).fontSize)")
    assert size >= 72
    assert int(page.eval("document.getElementById('people').textContent")) >= 1
    assert hub.viewers == 0  # the kiosk shows no video, so nothing is encoded for it
    assert hub.counters().encoded_frames == 0
    docs_screenshot(page, repo_root, "kiosk.png")
    play.stop()
