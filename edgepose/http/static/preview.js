// The preview page: the annotated MJPEG stream plus figures, people and events from /api/live.
"use strict";

(function () {
  const fmt = window.edgeposeFormat;
  const img = document.getElementById("stream");
  const events = document.getElementById("events");
  const maxEvents = 50;
  let eventCount = 0;
  let streamRetry = null;

  function text(id, value) {
    document.getElementById(id).textContent = value;
  }

  // A new URL each time: after a daemon restart the old multipart connection is gone for good.
  function startStream() {
    clearTimeout(streamRetry);
    img.src = "/stream.mjpg?t=" + Date.now();
  }
  img.onerror = function () {
    clearTimeout(streamRetry);
    streamRetry = setTimeout(startStream, 2000);
  };

  function addEvent(e, when) {
    const li = document.createElement("li");
    li.className = "event " + e.type;
    const time = document.createElement("time");
    time.textContent = when;
    li.appendChild(time);
    li.appendChild(document.createTextNode(" " + fmt.event(e)));
    events.insertBefore(li, events.firstChild);
    while (events.children.length > maxEvents) events.removeChild(events.lastChild);
    eventCount += 1;
    text("event-count", String(eventCount));
  }

  function renderTracks(state) {
    const body = document.querySelector("#tracks tbody");
    body.textContent = "";
    for (const t of (state && state.tracks) || []) {
      const row = document.createElement("tr");
      const reps = Object.entries(t.rep_counts || {}).map(([k, v]) => k + " " + v).join(", ");
      for (const cell of ["#" + t.track_id, t.posture, reps || "\u2013", (t.zones || []).join(", ") || "\u2013"]) {
        const td = document.createElement("td");
        td.textContent = cell;
        row.appendChild(td);
      }
      body.appendChild(row);
    }
  }

  window.edgeposeLive({
    hello: function (hello, restarted) {
      text("device", hello.device_id);
      // A (re)connect may follow a daemon restart or a network drop: either way the stream is new.
      startStream();
      if (restarted || eventCount === 0) {
        events.textContent = "";
        eventCount = 0;
        for (const e of hello.recent_events) addEvent(e, "earlier");
      }
    },
    update: function (u) {
      text("people", String(u.state ? u.state.people : u.people));
      text("fps", u.fps.toFixed(1));
      const t = u.timings || {};
      text("t-detector", t.detector_ran === false ? "tracking" : fmt.ms(t.detector_ms));
      text("t-landmark", fmt.ms(t.landmark_ms));
      text("t-total", fmt.ms(t.total_ms));
      renderTracks(u.state);
      for (const e of u.events) addEvent(e, fmt.clock());
      const stale = document.getElementById("stale");
      stale.hidden = u.health.status === "ok";
      stale.textContent = u.health.reason;
    },
  });
})();
