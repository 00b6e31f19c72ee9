// Live updates from /api/live (server-sent events), shared by the preview and kiosk pages.
// EventSource retries by itself after a dropped connection; when the server answers with an
// error instead, the browser gives up, so we start a new one with a growing delay.
"use strict";

window.edgeposeLive = function (handlers) {
  let source = null;
  let delayMs = 1000;
  let bootId = null;

  function setConn(ok, text) {
    const el = document.getElementById("conn");
    if (!el) return;
    el.textContent = text;
    el.classList.toggle("on", ok);
    el.classList.toggle("off", !ok);
  }

  function connect() {
    source = new EventSource("/api/live");
    source.addEventListener("hello", function (msg) {
      const hello = JSON.parse(msg.data);
      const restarted = bootId !== null && hello.boot_id !== bootId;
      bootId = hello.boot_id;
      delayMs = 1000;
      setConn(true, "live");
      handlers.hello(hello, restarted);
    });
    source.addEventListener("update", function (msg) {
      handlers.update(JSON.parse(msg.data));
    });
    source.onerror = function () {
      setConn(false, "reconnecting");
      if (handlers.lost) handlers.lost();
      if (source.readyState === EventSource.CLOSED) {
        source = null;
        setTimeout(connect, delayMs);
        delayMs = Math.min(delayMs * 2, 15000);
      }
    };
  }

  connect();
};

window.edgeposeFormat = {
  event: function (e) {
    const a = e.attributes || {};
    let text = e.type.replace(/_/g, " ");
    if (e.track_id !== null && e.track_id !== undefined) text = "#" + e.track_id + " " + text;
    const details = [];
    for (const key of ["exercise", "count", "posture", "zone", "gesture", "pose_class", "label"]) {
      if (a[key] !== undefined && a[key] !== null) details.push(String(a[key]));
    }
    if (details.length) text += ": " + details.join(" ");
    return text;
  },
  clock: function () {
    return new Date().toLocaleTimeString([], { hour12: false });
  },
  ms: function (v) {
    return v === null || v === undefined ? "\u2013" : v.toFixed(1) + " ms";
  },
};
