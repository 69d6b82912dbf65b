/*
 * Web chat of 海珠商事登记助手: talks to Rasa's socket.io channel (session_persistence on).
 *
 * - The conversation (session id and messages) is kept in localStorage, so a reload shows the history and carries
 *   on the same Rasa conversation.
 * - Bot and user text is only ever put into the page as text (textContent); links are built as elements: http(s)
 *   URLs, [label](https://…) and bare government domains (air.scjgj.gz.gov.cn, *.gov.hk), see linkParts.
 * - Quick replies: the buttons of the bot messages since the user's last message are clickable; a click sends the
 *   payload and shows the title. Once the user types or clicks, earlier buttons stay in the history, disabled.
 * - The text box takes as much as the bot reads (data-max-chars, 2000); a small counter shows near the limit and
 *   says so when pasted or dictated text had to be cut.
 * - Officer replies while a hand-off ticket is open: see OfficerRelay below.
 * - Accessibility: new messages are added to the history, never re-drawn, so keyboard focus on an earlier link or
 *   button stays where it is. The history itself is not a live region; each new message of the assistant or an
 *   officer is read out once from #hz-announce. A quick reply chosen from the keyboard hands focus to the text box.
 *   The words said come from data-text-* attributes of the page (chat.html).
 * - 大字: the large-text switch scales every size (they are in rem) and is remembered in localStorage.
 */
(function () {
  "use strict";

  var root = document.getElementById("hz-chat");
  if (!root) return;

  // --- 大字 (large text): before anything else, so the page never jumps from small to large ----------------------
  var LARGE_KEY = "hz-chat:large";
  var largeToggle = root.querySelector(".hz-large-toggle");

  function setLarge(on) {
    document.documentElement.classList.toggle("hz-large", on);
    if (largeToggle) largeToggle.setAttribute("aria-pressed", on ? "true" : "false");
  }

  function storedLarge() {
    try { return window.localStorage.getItem(LARGE_KEY) === "1"; } catch (e) { return false; }
  }

  setLarge(storedLarge());
  if (largeToggle) {
    largeToggle.addEventListener("click", function () {
      var on = largeToggle.getAttribute("aria-pressed") !== "true";
      setLarge(on);
      try { window.localStorage.setItem(LARGE_KEY, on ? "1" : "0"); } catch (e) { /* private mode */ }
      var history = root.querySelector(".hz-messages");
      if (history) history.scrollTop = history.scrollHeight;
    });
  }

  if (typeof window.io !== "function") return;

  var STORE_KEY = "hz-chat:v1";
  var MAX_KEPT = 200;
  var WELCOME_PAYLOAD = "/greet";
  var TYPING_TIMEOUT_MS = 30000;

  var list = root.querySelector(".hz-messages");
  var form = root.querySelector(".hz-composer");
  var input = root.querySelector(".hz-input");
  var sendButton = root.querySelector(".hz-send");
  var statusLine = root.querySelector(".hz-status");
  var resetButton = root.querySelector(".hz-reset");
  var announcer = document.getElementById("hz-announce");
  var TEXT = root.dataset;

  // --- the conversation, kept in localStorage ---------------------------------------------------------------------

  function newSessionId() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID().replace(/-/g, "");
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function freshState() {
    return { sessionId: newSessionId(), messages: [], relay: null };
  }

  function loadState() {
    try {
      var saved = JSON.parse(window.localStorage.getItem(STORE_KEY) || "null");
      if (saved && typeof saved.sessionId === "string" && /^[0-9a-f]{16,64}$/.test(saved.sessionId) &&
          Array.isArray(saved.messages)) {
        return { sessionId: saved.sessionId, messages: saved.messages.filter(isMessage), relay: saved.relay || null };
      }
    } catch (e) { /* unreadable: start again */ }
    return freshState();
  }

  function isMessage(m) {
    return m && typeof m === "object" && ["user", "bot", "officer", "system"].indexOf(m.from) >= 0;
  }

  function saveState() {
    state.messages = state.messages.slice(-MAX_KEPT);
    try { window.localStorage.setItem(STORE_KEY, JSON.stringify(state)); } catch (e) { /* private mode, full */ }
  }

  var state = loadState();

  // --- rendering -----------------------------------------------------------------------------------------------------

  // [label](https://…) | https://… | a bare government domain (air.scjgj.gz.gov.cn, www.gov.hk/…). URLs are ASCII:
  // Chinese text or full-width punctuation right after a link ends it. No lookbehind (older Safari cannot parse it).
  var LINK = new RegExp(
    "\\[([^\\]\\n]+)\\]\\((https?://[^\\s)]+)\\)" +
    "|(https?://[^\\s<>\"'`)\\u0080-\\uffff]+)" +
    "|((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\\.)+gov\\.(?:cn|hk)(?![a-z0-9-]|\\.[a-z0-9])" +
    "(?:[/?#][^\\s<>\"'`)\\u0080-\\uffff]*)?)",
    "gi"
  );
  var TRAILING = /[.,:;!?]+$/; // sentence punctuation after a URL is not part of it

  // text → [{text}, {text, href}, …]; every href starts with http:// or https://
  function linkParts(text) {
    text = String(text);
    var parts = [];
    var last = 0;
    var match;
    LINK.lastIndex = 0;
    while ((match = LINK.exec(text))) {
      var start = match.index;
      var shown = match[1] || match[3] || match[4];
      var href = match[2] || match[3] || "https://" + match[4];
      var end = start + match[0].length;
      if (!match[1]) {
        var tail = TRAILING.exec(shown);
        if (tail) {
          shown = shown.slice(0, -tail[0].length);
          href = href.slice(0, -tail[0].length);
          end -= tail[0].length;
        }
        // a domain inside an e-mail address, a longer word or another scheme's URL (ftp://…) is left as text
        if (match[4] && start > 0 && /[\w.@\/-]/.test(text.charAt(start - 1))) continue;
      }
      if (start > last) parts.push({ text: text.slice(last, start) });
      parts.push({ text: shown, href: href });
      last = end;
      LINK.lastIndex = end;
    }
    if (last < text.length) parts.push({ text: text.slice(last) });
    return parts;
  }

  function appendText(container, text) {
    linkParts(text).forEach(function (part) {
      if (!part.href) {
        container.appendChild(document.createTextNode(part.text));
        return;
      }
      var a = document.createElement("a");
      a.href = part.href;
      a.textContent = part.text;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      container.appendChild(a);
    });
  }

  var LABELS = { bot: TEXT.textBot || "助手", officer: TEXT.textOfficer || "CBSO服务官", system: "", user: "" };

  // Quick replies answer the bot's latest turn: the messages after the user's last message. Sending a message or
  // clicking a button (which sends one) makes all earlier buttons history.
  function lastUserIndex() {
    for (var i = state.messages.length - 1; i >= 0; i--) {
      if (state.messages[i].from === "user") return i;
    }
    return -1;
  }

  function buttonsActive(index) {
    var message = state.messages[index];
    return !!message && message.chosen == null && index > lastUserIndex();
  }

  function renderMessage(message, index, active) {
    var row = document.createElement("div");
    row.className = "hz-row hz-row-" + message.from;
    var label = labelOf(message);
    if (label && message.from !== "bot") {
      var tag = document.createElement("div");
      tag.className = "hz-label";
      tag.textContent = label;
      row.appendChild(tag);
    }
    if (message.text || message.image) {
      var bubble = document.createElement("div");
      bubble.className = "hz-bubble";
      if (message.text) appendText(bubble, message.text);
      if (message.image && /^https?:\/\//.test(message.image)) {
        var img = document.createElement("img");
        img.src = message.image;
        img.alt = TEXT.textImage || "图片";
        img.loading = "lazy";
        bubble.appendChild(img);
      }
      row.appendChild(bubble);
    }
    if (message.buttons && message.buttons.length) {
      var group = document.createElement("div");
      group.className = active ? "hz-buttons" : "hz-buttons hz-buttons-done";
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", TEXT.textQuickReplies || "快捷回复");
      message.buttons.forEach(function (button, choice) {
        var b = document.createElement("button");
        b.type = "button";
        b.className = "hz-button";
        b.textContent = button.title;
        b.disabled = !active;
        if (message.chosen === choice) b.setAttribute("aria-pressed", "true");
        b.addEventListener("click", function (event) {
          // a keyboard press (Enter, Space) clicks with detail 0: the button is about to be disabled, so focus goes
          // on to the text box instead of being lost; a tap leaves focus alone (no keyboard popping up on a phone)
          choose(index, choice);
          if (event.detail === 0 && document.activeElement !== input) input.focus();
        });
        group.appendChild(b);
      });
      row.appendChild(group);
    }
    return row;
  }

  function labelOf(message) {
    return message.from === "officer" && message.name ? LABELS.officer + " " + message.name : LABELS[message.from];
  }

  var typingRow = null;
  var typingTimer = null;
  var rows = []; // the rendered row of each message of state.messages

  function renderAll() {
    list.textContent = "";
    rows = state.messages.map(function (message, index) {
      return list.appendChild(renderMessage(message, index, buttonsActive(index)));
    });
    if (typingRow) list.appendChild(typingRow);
    list.scrollTop = list.scrollHeight;
  }

  // the rows drawn already are kept (and whatever has focus in them); only their buttons follow the state
  function syncButtons() {
    state.messages.forEach(function (message, index) {
      if (!message.buttons || !message.buttons.length || !rows[index]) return;
      var active = buttonsActive(index);
      var group = rows[index].querySelector(".hz-buttons");
      if (group) group.className = active ? "hz-buttons" : "hz-buttons hz-buttons-done";
      Array.prototype.forEach.call(rows[index].querySelectorAll(".hz-button"), function (b, choice) {
        b.disabled = !active;
        if (message.chosen === choice) b.setAttribute("aria-pressed", "true");
        else b.removeAttribute("aria-pressed");
      });
    });
  }

  // one message read out by screen readers: who says it, what, and how many quick replies follow
  var announceTimer = null;
  function announce(message) {
    if (!announcer || message.from === "user") return;
    var label = labelOf(message);
    var words = (label ? label + "：" : "") + (message.text || "");
    if (message.buttons && message.buttons.length) {
      words += " " + (TEXT.textButtons || "{n}").replace("{n}", String(message.buttons.length));
    }
    // appended, so two messages in a row are both read; emptied a moment later, so the same words are read again
    var line = document.createElement("p");
    line.textContent = words;
    announcer.appendChild(line);
    window.clearTimeout(announceTimer);
    announceTimer = window.setTimeout(function () { announcer.textContent = ""; }, 5000);
  }

  function setTyping(on) {
    window.clearTimeout(typingTimer);
    if (on && !typingRow) {
      typingRow = document.createElement("div");
      typingRow.className = "hz-row hz-row-bot hz-typing";
      var bubble = document.createElement("div");
      bubble.className = "hz-bubble";
      var words = document.createElement("span");
      words.className = "hz-visually-hidden";
      words.textContent = TEXT.textTyping || "助手正在输入";
      bubble.appendChild(words);
      for (var i = 0; i < 3; i++) {
        var dot = document.createElement("span");
        dot.className = "hz-dot";
        bubble.appendChild(dot);
      }
      typingRow.appendChild(bubble);
      list.appendChild(typingRow);
      list.scrollTop = list.scrollHeight;
    } else if (!on && typingRow) {
      typingRow.remove();
      typingRow = null;
    }
    if (on) typingTimer = window.setTimeout(function () { setTyping(false); }, TYPING_TIMEOUT_MS);
  }

  function add(message) {
    message.at = Date.now();
    state.messages.push(message);
    var trimmed = state.messages.length > MAX_KEPT;
    saveState();
    if (trimmed || rows.length !== state.messages.length - 1) {
      renderAll();
    } else {
      var index = state.messages.length - 1;
      rows.push(list.insertBefore(renderMessage(message, index, buttonsActive(index)), typingRow));
      syncButtons();
      list.scrollTop = list.scrollHeight;
    }
    announce(message);
  }

  // --- talking to Rasa -----------------------------------------------------------------------------------------------

  var socket = window.io(root.dataset.socketUrl, {
    path: root.dataset.socketPath || "/socket.io",
    transports: ["websocket", "polling"],
    reconnectionDelayMax: 10000,
  });

  function setStatus(stateName, text) {
    statusLine.dataset.state = stateName;
    statusLine.textContent = text;
  }

  function send(text, shown) {
    text = String(text || "").trim();
    if (!text) return;
    if (shown !== null) add({ from: "user", text: shown === undefined ? text : shown });
    socket.emit("user_uttered", { message: text, session_id: state.sessionId });
    setTyping(true);
  }

  function choose(index, choice) {
    var message = state.messages[index];
    if (!buttonsActive(index)) return;
    message.chosen = choice;
    var button = message.buttons[choice];
    send(button.payload, button.title);
  }

  function fromBot(data) {
    if (!data || typeof data !== "object") return;
    var handoff = data.handoff || (data.custom && data.custom.handoff) || (data.data && data.data.handoff);
    if (handoff) relay.update(handoff);
    var text = typeof data.text === "string" ? data.text : "";
    var buttons = (data.quick_replies || data.buttons || [])
      .filter(function (b) { return b && b.title && (b.payload || b.url); })
      .map(function (b) { return { title: String(b.title), payload: String(b.payload || b.url) }; });
    var image = data.attachment && data.attachment.type === "image" && data.attachment.payload
      ? data.attachment.payload.src : data.image;
    if (!text && !buttons.length && !image) return;
    setTyping(false);
    add({ from: "bot", text: text, buttons: buttons, image: typeof image === "string" ? image : undefined });
  }

  socket.on("connect", function () {
    setStatus("online", TEXT.textOnline || "在线");
    socket.emit("session_request", { session_id: state.sessionId });
  });
  socket.on("session_confirm", function (sessionId) {
    // the server issues the session id: it keeps ours if it issued it, else this is a new conversation
    if (typeof sessionId === "string" && /^[0-9a-f]{16,64}$/.test(sessionId) && sessionId !== state.sessionId) {
      state.sessionId = sessionId;
      saveState();
    }
    if (!state.messages.length) send(WELCOME_PAYLOAD, null);
  });
  socket.on("bot_uttered", fromBot);
  socket.on("disconnect", function () { setStatus("offline", TEXT.textOffline || "连接已断开"); });
  socket.on("connect_error", function () { setStatus("offline", TEXT.textUnreachable || "暂时连不上服务器"); });

  // --- officer replies while a hand-off ticket is open ---------------------------------------------------------------
  //
  // Integration point with the hand-off part. The page gets data-poll-url from the web app route named
  // "handoff_poll" (empty while there is none). A bot message carrying {"handoff": {"poll_token": …}} (as the socket
  // message itself, or under "custom"/"data") starts polling GET <poll-url>?token=<poll_token>, which answers
  // {"status": "open"|"assigned"|"resolved"|"closed", "messages": [{"id", "author": "officer"|"system", "text",
  // "officer"?}]}; the messages are shown once each. {"handoff": {"status": "closed"}}, a final status, or a 404
  // stops it. The token is kept with the conversation, so polling resumes after a reload.

  var relay = (function () {
    var pollUrl = root.dataset.pollUrl || "";
    var timer = null;
    var OPEN_MS = 4000;
    var FINAL = ["resolved", "closed"];

    function stop() {
      window.clearTimeout(timer);
      timer = null;
    }

    function url() {
      return pollUrl || (state.relay && state.relay.url) || "";
    }

    function schedule(ms) {
      stop();
      if (url() && state.relay && state.relay.token) timer = window.setTimeout(poll, ms);
    }

    function poll() {
      var token = state.relay && state.relay.token;
      if (!token) return;
      fetch(url() + (url().indexOf("?") >= 0 ? "&" : "?") + "token=" + encodeURIComponent(token), {
        headers: { Accept: "application/json" }, cache: "no-store", credentials: "same-origin",
      }).then(function (response) {
        if (response.status === 404 || response.status === 410) return { status: "closed", messages: [] };
        if (!response.ok) throw new Error("poll " + response.status);
        return response.json();
      }).then(function (answer) {
        var seen = state.relay ? state.relay.seen || [] : [];
        (answer.messages || []).forEach(function (m) {
          if (!m || typeof m.text !== "string" || seen.indexOf(m.id) >= 0) return;
          seen.push(m.id);
          add({ from: m.author === "system" ? "system" : "officer", text: m.text, name: m.officer || "" });
        });
        if (state.relay) state.relay.seen = seen.slice(-200);
        if (FINAL.indexOf(answer.status) >= 0) update({ status: answer.status });
        else saveState();
        schedule(OPEN_MS);
      }).catch(function () { schedule(OPEN_MS * 3); });
    }

    function update(handoff) {
      if (handoff.poll_token) {
        // the page's poll URL, else a same-origin path sent by the bot
        var given = typeof handoff.poll_url === "string" && /^\/[^\/]/.test(handoff.poll_url) ? handoff.poll_url : "";
        state.relay = { token: String(handoff.poll_token), url: given, seen: (state.relay && state.relay.seen) || [] };
        saveState();
        schedule(0);
      } else if (FINAL.indexOf(handoff.status) >= 0 && state.relay) {
        state.relay = null;
        saveState();
        stop();
      }
    }

    return { update: update, resume: function () { schedule(0); }, stop: stop };
  })();

  // --- the composer ----------------------------------------------------------------------------------------------------

  // The bot reads MAX_CHARS characters (Python counts code points, so does charCount). The box takes no more; when
  // pasted or dictated text does not fit, what fits is kept and the counter says how much was left out.
  var MAX_CHARS = parseInt(input.dataset.maxChars, 10) || 2000;
  var NEAR_LIMIT = Math.max(0, MAX_CHARS - 200);
  var limitLine = root.querySelector(".hz-limit");
  var leftOut = 0;

  function charCount(text) {
    return text.length - (text.match(/[\ud800-\udbff][\udc00-\udfff]/g) || []).length;
  }

  // the first `count` characters (code points) of text
  function firstChars(text, count) {
    var units = 0;
    for (var n = 0; n < count && units < text.length; n++) {
      var code = text.charCodeAt(units);
      units += code >= 0xd800 && code <= 0xdbff && units + 1 < text.length ? 2 : 1;
    }
    return text.slice(0, units);
  }

  function enforceLimit() {
    var value = input.value;
    var excess = charCount(value) - MAX_CHARS;
    if (excess > 0) {
      // take the excess off what was just put in (it ends at the caret), as maxlength would
      var caret = input.selectionEnd;
      var before = value.slice(0, caret);
      var keep = charCount(before) - excess;
      if (keep < 0) {
        input.value = firstChars(value, MAX_CHARS);
      } else {
        before = firstChars(before, keep);
        input.value = before + value.slice(caret);
        input.setSelectionRange(before.length, before.length);
      }
      leftOut = excess;
    } else if (excess < 0) {
      leftOut = 0;
    }
    showCount();
  }

  function showCount() {
    var count = charCount(input.value);
    limitLine.hidden = count < NEAR_LIMIT;
    limitLine.classList.toggle("hz-limit-full", count >= MAX_CHARS);
    limitLine.textContent = leftOut > 0
      ? "最多 " + MAX_CHARS + " 字，超出的 " + leftOut + " 字没有放进来，可以分开发送"
      : count + " / " + MAX_CHARS;
  }

  input.addEventListener("input", function (event) {
    if (!event.isComposing) enforceLimit(); // never change the text while an input method is composing
    grow();
  });
  input.addEventListener("compositionend", function () { enforceLimit(); grow(); });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = firstChars(input.value, MAX_CHARS).trim();
    if (!text) return;
    input.value = "";
    leftOut = 0;
    showCount();
    grow();
    send(text);
  });

  input.addEventListener("keydown", function (event) {
    // Enter sends, Shift+Enter is a new line; never while an input method is composing Chinese
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : sendButton.click();
    }
  });

  function grow() {
    input.style.height = "auto";
    var most = parseFloat(window.getComputedStyle(input).maxHeight) || 120; // 7.5rem: more with 大字
    input.style.height = Math.min(input.scrollHeight, most) + "px";
  }

  resetButton.addEventListener("click", function () {
    if (!window.confirm(TEXT.textResetConfirm || "清空当前对话记录并开始新的对话？")) return;
    relay.stop();
    state = freshState();
    saveState();
    setTyping(false);
    renderAll();
    socket.disconnect().connect(); // leave the old conversation's room; "connect" asks for the new session
  });

  enforceLimit();
  renderAll();
  relay.resume();
})();
