// The kiosk screen: people, each person's posture and rep counters, the last events, in large type.
"use strict";

(function () {
  const fmt = window.edgeposeFormat;
  const events = document.getElementById("events");
  const shown = 6;

  function addEvent(e) {
    const li = document.createElement("li");
    li.className = "event " + e.type;
    li.textContent = fmt.event(e);
    events.insertBefore(li, events.firstChild);
    while (events.children.length > shown) events.removeChild(events.lastChild);
  }

  function renderCounters(state) {
    const box = document.getElementById("counters");
    box.textContent = "";
    const tracks = (state && state.tracks) || [];
    if (!tracks.length) {
      const p = document.createElement("p");
      p.className = "empty";
      p.textContent = "nobody here";
      box.appendChild(p);
      return;
    }
    for (const t of tracks) {
      const card = document.createElement("div");
      card.className = "card";
      const head = document.createElement("div");
      head.className = "who";
      head.textContent = "#" + t.track_id + " " + t.posture;
      card.appendChild(head);
      const reps = Object.entries(t.rep_counts || {});
      if (!reps.length) reps.push(["reps", 0]);
      for (const [name, count] of reps) {
        const row = document.createElement("div");
        row.className = "rep";
        const n = document.createElement("span");
        n.className = "count";
        n.textContent = String(count);
        const label = document.createElement("span");
        label.className = "label";
        label.textContent = name;
        row.appendChild(n);
        row.appendChild(label);
        card.appendChild(row);
      }
      box.appendChild(card);
    }
  }

  window.edgeposeLive({
    hello: function (hello) {
      document.getElementById("title").textContent = hello.kiosk_title;
      events.textContent = "";
      for (const e of hello.recent_events.slice(-shown)) addEvent(e);
    },
    update: function (u) {
      document.getElementById("people").textContent = String(u.state ? u.state.people : u.people);
      renderCounters(u.state);
      for (const e of u.events) addEvent(e);
      document.body.classList.toggle("stale", u.health.status !== "ok");
    },
  });
})();
