"""Headless Chromium driven over the DevTools protocol, for tests of the HTTP pages.

Debian's `chromium` (scripts/apt-packages.txt) runs with a fresh profile and debugging on a
loopback port; `Browser` speaks the DevTools protocol over aiohttp's WebSocket client on a
private event loop, so tests call it synchronously.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import re
import shutil
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--mute-audio",
    "--hide-scrollbars",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)
_LISTENING = re.compile(r"DevTools listening on (ws://127\.0\.0\.1:(\d+)/\S+)")


def chromium_binary() -> str | None:
    """Debian's chromium, or another Chromium-family binary on PATH."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


class Page:
    """One browser tab: navigate, evaluate JavaScript, wait for a condition, take a screenshot."""

    def __init__(self, ws_url: str, loop: asyncio.AbstractEventLoop) -> None:
        import aiohttp

        self._loop = loop
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}

        async def connect() -> tuple[Any, Any, asyncio.Task[None]]:
            session = aiohttp.ClientSession()
            ws = await session.ws_connect(ws_url, max_msg_size=64 * 1024 * 1024)
            reader = asyncio.ensure_future(self._read(ws))
            return session, ws, reader

        self._session, self._ws, self._reader = self._run(connect(), 10.0)

    def _run(self, coro: Any, timeout_s: float) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout_s)

    async def _read(self, ws: Any) -> None:
        async for msg in ws:
            data = json.loads(msg.data)
            future = self._waiting.pop(data.get("id", -1), None)
            if future is not None and not future.done():
                future.set_result(data)

    def call(self, method: str, timeout_s: float = 15.0, **params: Any) -> dict[str, Any]:
        """Send one DevTools command and return its result (AssertionError on a protocol error)."""

        async def send() -> dict[str, Any]:
            ident = next(self._ids)
            future: asyncio.Future[dict[str, Any]] = self._loop.create_future()
            self._waiting[ident] = future
            await self._ws.send_str(json.dumps({"id": ident, "method": method, "params": params}))
            return await asyncio.wait_for(future, timeout_s)

        reply = self._run(send(), timeout_s + 1.0)
        assert "error" not in reply, f"{method}: {reply['error']}"
        result: dict[str, Any] = reply.get("result", {})
        return result

    def set_size(self, width: int, height: int) -> None:
        """The viewport in CSS pixels (device scale 1, so screenshots have the same size)."""
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )

    def goto(self, url: str) -> None:
        """Navigate (pages with an endless MJPEG image never 'load', so callers wait for content)."""
        self.call("Page.navigate", url=url)

    def eval(self, expression: str) -> Any:
        """Evaluate JavaScript in the page and return its JSON value."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout_s: float = 20.0, interval_s: float = 0.1) -> Any:
        """Poll an expression until it is truthy; its value, or AssertionError with the last value."""
        deadline = time.monotonic() + timeout_s
        value: Any = None
        # Elements come and go as the page re-renders: an exception just means "not yet".
        guarded = f"(() => {{ try {{ return ({expression}); }} catch (e) {{ return null; }} }})()"
        while time.monotonic() < deadline:
            value = self.eval(guarded)
            if value:
                return value
            time.sleep(interval_s)
        raise AssertionError(f"timed out after {timeout_s} s waiting for {expression!r} (last: {value!r})")

    def screenshot(self) -> np.ndarray:
        """The viewport as an RGB image."""
        data = self.call("Page.captureScreenshot", format="png")["data"]
        png = np.frombuffer(base64.b64decode(data), dtype=np.uint8)
        bgr = cv2.imdecode(png, cv2.IMREAD_COLOR)
        assert bgr is not None
        return np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))

    def save_png(self, path: Path) -> None:
        """Write the viewport to a PNG file."""
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        """Close the WebSocket and the HTTP session."""

        async def shut() -> None:
            await self._ws.close()
            await self._session.close()
            self._reader.cancel()

        self._run(shut(), 10.0)


class Browser:
    """A headless Chromium process with a fresh profile; `new_page()` opens a driven tab."""

    def __init__(self, binary: str, profile_dir: Path) -> None:
        self._proc = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={profile_dir}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.port = self._await_port(30.0)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="cdp-client", daemon=True)
        self._thread.start()
        self._pages: list[Page] = []

    def _await_port(self, timeout_s: float) -> int:
        assert self._proc.stderr is not None
        found: list[int] = []
        lines: list[str] = []

        def scan() -> None:
            assert self._proc.stderr is not None
            for line in self._proc.stderr:
                lines.append(line)
                match = _LISTENING.search(line)
                if match and not found:
                    found.append(int(match.group(2)))
            # Keep draining stderr so chromium never blocks on a full pipe.

        threading.Thread(target=scan, name="chromium-stderr", daemon=True).start()
        deadline = time.monotonic() + timeout_s
        while not found and time.monotonic() < deadline and self._proc.poll() is None:
            time.sleep(0.05)
        if not found:
            self._proc.kill()
            raise RuntimeError("chromium did not start: " + "".join(lines[-20:]))
        return found[0]

    def new_page(self, width: int = 1280, height: int = 800) -> Page:
        """A new tab with the given viewport."""
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/json/new?about:blank", method="PUT")
        with urllib.request.urlopen(request, timeout=10) as response:
            target = json.loads(response.read())
        page = Page(target["webSocketDebuggerUrl"], self._loop)
        page.call("Page.enable")
        page.call("Runtime.enable")
        page.set_size(width, height)
        self._pages.append(page)
        return page

    def close(self) -> None:
        """Close the tabs' connections and end the browser process."""
        for page in self._pages:
            page.close()
        self._pages.clear()
        self._proc.terminate()
        try:
            self._proc.wait(10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


@pytest.fixture(scope="session")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """One headless Chromium for the session (Debian's `chromium`; setup_dev.sh installs it)."""
    binary = chromium_binary()
    if binary is None:
        pytest.fail("chromium is not installed (scripts/apt-packages.txt lists it; run scripts/setup_dev.sh)")
    browser = Browser(binary, tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield browser
    finally:
        browser.close()
