// Ticket page: fetch new transcript lines every few seconds and add them as text (never as HTML).
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
