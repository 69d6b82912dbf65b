// Staff console pages' script (no HTML is ever built from data: text only).
// - Queue page: refreshes itself every minute in place of a <meta refresh> (WCAG 2.2.1): a button pauses it (kept in
//   localStorage), and it waits while focus is on a link or control of the page, so a keyboard user keeps their place.
// - Ticket page: fetch new transcript lines every few seconds and add them as text (never as HTML).
(function () {
  "use strict";
  var box = document.getElementById("auto-refresh");
  var toggle = document.getElementById("auto-refresh-toggle");
  if (!box || !toggle) return;
  var KEY = "hz-console:queue-refresh-paused";
  var seconds = parseInt(box.dataset.seconds || "60", 10);
  var timer = null;

  function paused() {
    try { return window.localStorage.getItem(KEY) === "1"; } catch (e) { return false; }
  }

  function show() {
    var on = paused();
    toggle.setAttribute("aria-pressed", on ? "true" : "false");
    toggle.textContent = on ? box.dataset.textResume : box.dataset.textPause;
  }

  function busy() {
    var active = document.activeElement;
    return active && active !== document.body && active !== toggle && active.id !== "main";
  }

  function schedule() {
    window.clearTimeout(timer);
    if (paused()) return;
    timer = window.setTimeout(function () {
      if (paused()) return;
      if (busy() || document.hidden) schedule();
      else window.location.assign(box.dataset.url);
    }, seconds * 1000);
  }

  toggle.addEventListener("click", function () {
    try { window.localStorage.setItem(KEY, paused() ? "0" : "1"); } catch (e) { /* private mode */ }
    show();
    schedule();
  });
  toggle.hidden = false;
  show();
  schedule();
})();

(function () {
  "use strict";
  var list = document.getElementById("transcript");
  if (!list || !window.fetch) return;
  var url = list.dataset.updates;
  var after = parseInt(list.dataset.after || "0", 10);
  var status = list.dataset.status;
  var userLeft = list.dataset.userLeft === "true";
  var final = ["resolved", "closed"];

  function line(message) {
    var item = document.createElement("li");
    item.className = "msg from-" + message.author;
    var who = document.createElement("div");
    who.className = "who";
    who.textContent = message.who + " · " + message.time;
    var text = document.createElement("div");
    text.className = "text";
    text.textContent = message.text;
    item.appendChild(who);
    item.appendChild(text);
    return item;
  }

  function poll() {
    fetch(url + "?after=" + after, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 401) { window.location.reload(); throw new Error("signed out"); }
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (answer) {
        (answer.messages || []).forEach(function (message) {
          if (message.id <= after) return;
          after = message.id;
          if (message.text) list.appendChild(line(message));
        });
        if ((answer.status && answer.status !== status) || (answer.user_left !== undefined && answer.user_left !== userLeft)) {
          document.getElementById("status-changed").hidden = false;
        }
        if (final.indexOf(answer.status) < 0) window.setTimeout(poll, 5000);
      })
      .catch(function () { window.setTimeout(poll, 15000); });
  }

  if (final.indexOf(status) < 0) window.setTimeout(poll, 5000);
})();
