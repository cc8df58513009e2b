// The sitting page: one question at a time, answers saved as they are given, the server's clock.
// Nothing here decides time or marks: the server does. This page only shows and sends.
(function () {
  "use strict";
  var root = document.getElementById("sitting");
  if (!root) { return; }
  var api = root.dataset.api;
  // The sitting's own requests go by the fast lane, let in by the attempt capability the page was given.
  var lane = root.dataset.lane;
  var capability = root.dataset.capability;
  var token = root.dataset.token;
  var finishedUrl = root.dataset.finished;
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var pendingKey = "te-pending-" + root.dataset.attempt;
  var announcedKey = "te-announced-" + root.dataset.attempt;  // the newest message already read out

  var state = {
    position: 1, navFocus: 1, keptPosition: null, questions: [], revisions: {}, stopped: false, over: false, superseded: false,
    deadlineAt: null, lastMessage: 0, warned: {}, saving: {}, retryTimer: null, typingTimer: null, loaded: false, busyUntil: 0,
    seen: {}, seq: 0, flushing: null, syncedAt: 0
  };
  var live = { source: null, open: false };

  var el = function (id) { return document.getElementById(id); };
  var timer = el("timer"), saveStatus = el("save-status"), alerts = el("alerts"), announcer = el("announcer");

  // ---- pending answers survive a reload (localStorage), and are re-sent ----
  function loadPending() {
    try { return JSON.parse(localStorage.getItem(pendingKey) || "{}"); } catch (e) { return {}; }
  }
  function storePending(p) { try { localStorage.setItem(pendingKey, JSON.stringify(p)); } catch (e) { /* private mode */ } }
  // Each answer waiting to be sent carries its place in the order it was given (`seq`), so answers
  // kept while the connection was down are sent in that order when it is back.
  function setPending(position, response, revision) {
    var p = loadPending();
    Object.keys(p).forEach(function (k) { state.seq = Math.max(state.seq, p[k].seq || 0); });
    state.seq = Math.max(state.seq + 1, Date.now());
    p[position] = { response: response, revision: revision, seq: state.seq }; storePending(p);
    if (state.seen[position]) { state.seen[position].response = response; }  // what a return to it offline shows
  }
  function clearPending(position, revision) {
    var p = loadPending();
    if (p[position] && p[position].revision <= revision) { delete p[position]; storePending(p); }
  }

  // ---- the offline banner: shown while the browser says it is offline or the server cannot be reached ----
  var OFFLINE = "You are offline. Your answers are kept on this computer and will be sent when the connection is back. The clock keeps running.";
  function setOffline(offline) {
    var banner = el("offline");
    if (offline && banner.textContent !== OFFLINE) { banner.textContent = OFFLINE; }
    if (!offline && banner.textContent) { banner.textContent = ""; }
  }

  var RENEW = { capability_expired: true, capability_invalid: true };
  function request(method, url, body, renewed) {
    var headers = { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" };
    var onLane = url.indexOf(lane) === 0;
    if (onLane) { headers["X-Attempt-Capability"] = capability; }
    return fetch(url, {
      method: method, credentials: "same-origin", cache: "no-store", headers: headers,
      body: body ? JSON.stringify(body) : undefined
    }).then(function (response) {
      setOffline(false);
      return response.json().catch(function () { return {}; }).then(function (data) {
        var result = { status: response.status, ok: response.ok, data: data, retryAfter: retryAfterMs(response) };
        if (onLane && !renewed && response.status === 401 && RENEW[data.error]) {
          // The capability ran out (the deadline moved on after a pause): ask for a new one once, then retry.
          return renewCapability().then(function (renewedOk) { return renewedOk ? request(method, url, body, true) : result; });
        }
        return result;
      });
    }, function (failure) {  // no answer at all: the network (not the server) failed
      setOffline(true);
      throw failure;
    });
  }
  function renewCapability() {
    return fetch(api + "/capability?client_token=" + encodeURIComponent(token), {
      credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" }
    }).then(function (fresh) { return fresh.ok ? fresh.json() : {}; }).then(function (data) {
      if (!data.capability) { return false; }
      capability = data.capability;
      return true;
    }, function () { return false; });
  }

  // Retry-After in seconds (503: the server is busy); null when absent or not a number of seconds.
  function retryAfterMs(response) {
    var value = Number(response.headers.get("Retry-After"));
    return response.headers.get("Retry-After") !== null && isFinite(value) && value >= 0 ? Math.min(value, 120) * 1000 : null;
  }

  function say(message) { alerts.textContent = ""; window.setTimeout(function () { alerts.textContent = message; }, 50); }
  // The polite live region: time warnings and the time on request, read out when the screen reader is free.
  function announce(message) { announcer.textContent = ""; window.setTimeout(function () { announcer.textContent = message; }, 50); }
  function inWords(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    var parts = [];
    if (h) { parts.push(h + (h === 1 ? " hour" : " hours")); }
    if (m) { parts.push(m + (m === 1 ? " minute" : " minutes")); }
    if (!h && m < 2 && s) { parts.push(s + (s === 1 ? " second" : " seconds")); }
    return parts.length ? parts.join(" ") : "no time";
  }
  function timeLeft() {
    if (state.deadlineAt === null) { announce("The time left is not known yet."); return; }
    if (state.stopped) { announce("The clock is stopped. You have " + inWords(state.stoppedSeconds) + " left."); return; }
    announce("You have " + inWords((state.deadlineAt - performance.now()) / 1000) + " left.");
  }
  function setSaveStatus(text, bad) { saveStatus.textContent = text; saveStatus.className = "save-status" + (bad ? " save-bad" : ""); }

  // ---- the clock: remaining time from the server, counted down locally, re-synced often ----
  function applyClock(clock) {
    if (!clock) { return; }
    var wasStopped = state.stopped;
    state.stopped = clock.stopped;
    state.stoppedSeconds = clock.remaining_seconds;
    state.deadlineAt = performance.now() + clock.remaining_seconds * 1000;
    state.syncedAt = Date.now();
    if (clock.state === "submitted" || clock.state === "abandoned") { finish(); return; }
    setInputsEnabled(!clock.stopped && !state.over && !state.superseded);
    if (clock.stopped) { timer.textContent = format(clock.remaining_seconds) + " (clock stopped)"; }
    if (clock.stopped && !wasStopped) {
      say(clock.state === "on_break"
        ? "Rest break: your clock is stopped and your answers are kept. The invigilator will restart your test."
        : "The invigilator has stopped the clock. Your answers are kept. Wait for the invigilator to restart the test.");
    } else if (!clock.stopped && wasStopped) {
      say("The clock has restarted. You have the time you had left: " + format(clock.remaining_seconds) + ".");
      if (!state.loaded) { load(state.position, false); }
    }
    tick();
  }
  function format(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    return (h ? h + ":" + String(m).padStart(2, "0") : String(m)) + ":" + String(s).padStart(2, "0");
  }
  function tick() {
    if (state.deadlineAt === null || state.stopped || state.over) { return; }
    var left = (state.deadlineAt - performance.now()) / 1000;
    timer.textContent = format(left);
    [30, 10, 5].forEach(function (minutes) {
      if (left <= minutes * 60 && left > minutes * 60 - 60 && !state.warned[minutes]) {
        state.warned[minutes] = true;
        announce(minutes + " minutes left.");
      } else if (left <= minutes * 60) { state.warned[minutes] = true; }
    });
    if (left <= 0) { timeUp(); }
  }
  function resync() {
    return request("GET", lane + "/clock?messages_after=" + state.lastMessage).then(function (r) {
      if (r.ok) { applyReply(r.data); }
    }).catch(function () { /* offline: keep counting, retry later */ });
  }
  // A clock poll's reply or a live event: the same fields, applied the same way. The server's clock wins.
  function applyReply(data) {
    showMessages(data.messages || []);
    if (data.superseded) { superseded(); return; }
    applyClock(data.clock);
    if (!state.stopped) { flushPending(); }
  }
  // Re-sync every 4 seconds (an invigilator's pause freezes this clock on the next reply), every 3
  // while the clock is stopped so the restart shows at once. Each re-sync is one small read. While a
  // live stream is open the server pushes every change, and the poll is only a safety net.
  function scheduleResync() {
    window.setTimeout(function () { resync().then(scheduleResync); }, live.open ? 15000 : (state.stopped ? 3000 : 4000));
  }

  // ---- live updates: the server pushes pause, resume, time changes and messages as they happen ----
  // The stream ends every so often and the browser reconnects by itself; if the server refuses one
  // (it holds as many as it allows) or the browser has none, the poll above carries on alone.
  function startLive() {
    if (!window.EventSource || state.over || state.superseded || live.source) { return; }
    var source = new EventSource(api + "/live?client_token=" + encodeURIComponent(token) + "&messages_after=" + state.lastMessage);
    live.source = source;
    source.addEventListener("open", function () { live.open = true; });
    source.addEventListener("clock", function (event) {
      var data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      live.open = true;
      setOffline(false);
      applyReply(data);
    });
    source.addEventListener("error", function () {
      live.open = false;
      if (source.readyState === 2) {  // closed for good (refused): try again later
        live.source = null;
        window.setTimeout(startLive, 30000);
      }
    });
  }
  function stopLive() { if (live.source) { live.source.close(); live.source = null; live.open = false; } }

  // ---- the heartbeat: the invigilator's board shows this apprentice online while it arrives ----
  function heartbeat() {
    if (state.over || state.superseded) { return; }
    request("PUT", api + "/heartbeat", { client_token: token }).catch(function () { /* offline: the board will say so */ });
  }

  // ---- the invigilator's messages: listed on screen, the newest read out (role="alert") ----
  // The whole list comes back after a reload, to be read again; only a message not yet read out is announced.
  function showMessages(messages) {
    var fresh = messages.filter(function (m) { return m.id > state.lastMessage; });
    if (!fresh.length) { return; }
    var list = el("messages-list");
    fresh.forEach(function (m) {
      state.lastMessage = m.id;
      var item = document.createElement("li");
      item.textContent = m.body;
      list.insertBefore(item, list.firstChild);
    });
    el("messages").hidden = false;
    var newest = fresh[fresh.length - 1];
    var announced = 0;
    try { announced = Number(localStorage.getItem(announcedKey) || 0); } catch (e) { /* private mode */ }
    if (newest.id > announced) {
      try { localStorage.setItem(announcedKey, String(newest.id)); } catch (e) { /* private mode */ }
      say("Message from the invigilator: " + newest.body);
    }
  }

  function timeUp() {
    if (state.over) { return; }
    state.over = true;
    timer.textContent = "0:00";
    setInputsEnabled(false);
    say("Time is up. Your answers are saved and your test is being submitted.");
    // Anything still unsent goes now: the server accepts it within its short network grace.
    flushPending().then(awaitSubmission);
  }
  // The server submits the test when its grace for answers in flight is over; until then stay here
  // (the finished page would only send us back). If the server's clock says otherwise, carry on.
  function awaitSubmission() {
    request("GET", api + "/clock?client_token=" + encodeURIComponent(token)).then(function (r) {
      var clock = r.ok ? r.data.clock : null;
      if (clock && (clock.state === "submitted" || clock.state === "abandoned")) { finish(); return; }
      if (clock && !r.data.superseded && (clock.stopped || clock.remaining_seconds > 0)) {
        state.over = false; alerts.textContent = ""; applyClock(clock); return;
      }
      window.setTimeout(awaitSubmission, 3000);
    }).catch(function () { window.setTimeout(awaitSubmission, 3000); });
  }
  function finish() { state.over = true; stopLive(); setInputsEnabled(false); window.location.assign(finishedUrl); }
  function superseded() {
    if (state.superseded) { return; }
    state.superseded = true;
    stopLive();
    setInputsEnabled(false);
    say("This test was opened in another window, so this window has stopped. Continue in the newer window, or reload this page to continue here.");
  }

  // ---- saving ----
  function nextRevision(position) {
    var p = loadPending();
    var current = Math.max(state.revisions[position] || 0, p[position] ? p[position].revision : 0);
    return current + 1;
  }
  // The server refuses control characters other than tab and newlines; pasted text can carry them
  // invisibly, so they are dropped here rather than have the whole answer refused.
  var CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g;
  function queueSave(position, response) {
    if (response !== null) { response = response.replace(CONTROL, ""); }
    var revision = nextRevision(position);
    setPending(position, response, revision);
    markAnswered(position, response !== null && response.trim() !== "");
    setSaveStatus("Saving…");
    return flushPending();
  }
  // Send one kept answer; resolves true when it is done with (saved, or refused for good), false when
  // it must wait (offline, server busy, clock stopped), so the answers after it wait too.
  function send(position) {
    var entry = loadPending()[position];
    if (!entry) { return Promise.resolve(true); }
    if (state.superseded) { return Promise.resolve(false); }
    if (state.saving[position]) { return state.saving[position]; }
    var wait = state.busyUntil - Date.now();
    if (wait > 0) {  // the server asked for time (503 Retry-After): every save waits for it, kept meanwhile
      setSaveStatus("Server busy: your answer is kept and will be saved automatically", true);
      scheduleRetry(wait);
      return Promise.resolve(false);
    }
    var promise = request("PUT", lane + "/answers/" + position, { response: entry.response, revision: entry.revision })
      .then(function (r) {
        state.saving[position] = null;
        if (r.ok) {
          state.revisions[position] = Math.max(state.revisions[position] || 0, r.data.revision || 0);
          clearPending(position, entry.revision);
          if (r.data.clock) { applyClock(r.data.clock); }
          // The fast lane's save answers in one statement, without the clock: while typing, the page
          // re-syncs with the server's clock at most every 3 s (the live stream pushes only changes).
          else if (Date.now() - state.syncedAt > 3000) { resync(); }
          if (!Object.keys(loadPending()).length) { setSaveStatus("Saved"); }
          return true;
        }
        var code = r.data && r.data.error;
        if (code === "superseded") { superseded(); return false; }
        if (code === "time_up" || code === "already_submitted") {
          state.over = true; setInputsEnabled(false); setSaveStatus(r.data.message, true);
          window.setTimeout(function () { window.location.assign(finishedUrl); }, 2500);
          return false;
        }
        if (code === "paused") { setSaveStatus("Clock stopped: your answer will be saved when the test resumes.", true); resync(); return false; }
        if (r.status === 503) {  // the server is busy: the answer stays here and is sent again when it says
          state.busyUntil = Date.now() + (r.retryAfter === null ? 3000 : r.retryAfter);
          setSaveStatus("Server busy: your answer is kept and will be saved automatically", true);
          scheduleRetry(state.busyUntil - Date.now());
          return false;
        }
        if (r.status >= 400 && r.status < 500 && code !== "login_required" && code !== "capability_revoked") {
          clearPending(position, entry.revision); setSaveStatus("Not saved: " + (r.data.message || "refused"), true); return true;
        }
        throw new Error("retry");
      })
      .catch(function () {
        state.saving[position] = null;
        setSaveStatus("Not saved - retrying", true);
        scheduleRetry();
        return false;
      });
    state.saving[position] = promise;
    return promise;
  }
  // Every kept answer, one at a time in the order they were given; one that must wait holds the rest.
  function flushPending() {
    if (state.flushing) { state.flushAgain = true; return state.flushing; }
    function next() {
      var p = loadPending();
      var positions = Object.keys(p).sort(function (a, b) { return (p[a].seq || 0) - (p[b].seq || 0); });
      if (!positions.length) { return Promise.resolve(true); }
      return send(Number(positions[0])).then(function (done) { return done ? next() : false; });
    }
    state.flushAgain = false;
    state.flushing = next().then(function (done) {
      state.flushing = null;
      if (done && state.flushAgain) { return flushPending(); }  // an answer given while the last one was on its way
    });
    return state.flushing;
  }
  function scheduleRetry(delayMs) {
    if (state.retryTimer) { return; }
    var delay = delayMs === null || delayMs === undefined ? 3000 : delayMs;
    state.retryTimer = window.setTimeout(function () { state.retryTimer = null; flushPending(); }, delay);
  }

  // ---- the question ----
  function setInputsEnabled(enabled) {
    document.querySelectorAll("#question-body input, #question-body textarea, #flag, #submit, #confirm-yes").forEach(function (input) {
      input.disabled = !enabled;
    });
  }
  // The navigator is one Tab stop (a roving tabindex): arrow keys move between the numbers,
  // Home and End go to the first and last, Enter or Space opens the question.
  function renderNavigator() {
    var list = el("navigator");
    if (list.children.length !== state.questions.length) {
      list.textContent = "";
      state.questions.forEach(function (q) {
        var button = document.createElement("button");
        button.type = "button";
        button.textContent = String(q.position);
        button.dataset.position = String(q.position);
        button.addEventListener("click", function () { go(q.position); });
        list.appendChild(button);
      });
    }
    state.questions.forEach(function (q, i) {
      var button = list.children[i];
      button.className = "nav-button" + (q.answered ? " answered" : "") + (q.flagged ? " flagged" : "");
      button.setAttribute("aria-label", "Question " + q.position + ", " + (q.answered ? "answered" : "not answered") + (q.flagged ? ", flagged" : ""));
      if (q.position === state.position) { button.setAttribute("aria-current", "step"); } else { button.removeAttribute("aria-current"); }
      button.tabIndex = q.position === state.navFocus ? 0 : -1;
    });
    showAnsweredCount();
  }
  function moveNavFocus(position) {
    position = Math.max(1, Math.min(state.questions.length, position));
    state.navFocus = position;
    renderNavigator();
    el("navigator").children[position - 1].focus();
  }
  function onNavigatorKey(event) {
    var from = Number(event.target.dataset.position || state.navFocus);
    var to = { ArrowRight: from + 1, ArrowDown: from + 1, ArrowLeft: from - 1, ArrowUp: from - 1, Home: 1, End: state.questions.length }[event.key];
    if (to === undefined) { return; }
    event.preventDefault();
    moveNavFocus(to);
  }
  function showAnsweredCount() {
    var answered = state.questions.filter(function (q) { return q.answered; }).length;
    el("answered-count").textContent = answered + " of " + state.questions.length + " answered";
  }
  function markAnswered(position, answered) {
    var q = state.questions[position - 1];
    if (q && q.answered !== answered) { q.answered = answered; renderNavigator(); }
  }
  function go(position) {
    if (position < 1 || position > state.questions.length) { return; }
    state.position = position;
    state.navFocus = position;
    keepPosition(position);
    el("review").hidden = true;
    el("question-area").hidden = false;
    load(position, true);
  }
  // The server keeps the question on screen, so a reload opens here and not at question 1.
  function keepPosition(position) {
    if (position === state.keptPosition || state.superseded || state.over) { return; }
    state.keptPosition = position;
    request("PUT", lane + "/position", { position: position }).then(function (r) {
      if (!r.ok && state.keptPosition === position) { state.keptPosition = null; }
    }).catch(function () { if (state.keptPosition === position) { state.keptPosition = null; } });
  }
  // Questions already seen are kept in memory: while the connection is down the apprentice can go
  // back to any of them (with the answer given last), and only an unseen one must wait.
  function load(position, moveFocus) {
    var shown = initial && initial.question && initial.question.position === position ? initial.question : null;
    if (initial) { initial.question = null; }  // used once: a later visit to the question asks again
    var fetched = shown ? Promise.resolve({ ok: true, status: 200, data: shown }) : request("GET", lane + "/questions/" + position);
    return fetched.then(function (r) {
      if (!r.ok) {
        if (r.data.error === "paused") {
          // Shown again when the clock restarts (applyClock); if it already has, load it now.
          state.loaded = false;
          resync().then(function () { if (!state.stopped) { window.setTimeout(function () { load(position, moveFocus); }, 2000); } });
          return;
        }
        if (r.data.error === "already_submitted") { finish(); return; }
        say(r.data.message || "The question could not be loaded. Retrying."); window.setTimeout(function () { load(position, moveFocus); }, 3000); return;
      }
      state.seen[position] = r.data;
      renderQuestion(r.data);
      renderNavigator();
      if (moveFocus) { el("question-heading").focus(); }
    }).catch(function () {
      if (state.seen[position]) {
        if (state.position === position) { renderQuestion(state.seen[position]); renderNavigator(); if (moveFocus) { el("question-heading").focus(); } }
        return;
      }
      if (state.position === position) { renderUnavailable(position); }
      window.setTimeout(function () { if (state.position === position) { load(position, moveFocus); } }, 3000);
    });
  }
  // Offline, and this question was never opened: say so where it would be, and what can still be done.
  function renderUnavailable(position) {
    state.loaded = false;
    el("question-heading").textContent = "Question " + position + " of " + state.questions.length;
    el("question-marks").textContent = "";
    var body = el("question-body");
    body.textContent = "";
    var note = document.createElement("p");
    note.className = "hint";
    note.textContent = "You are offline and this question has not been opened yet: it will appear when the connection is back. " +
      "You can still answer the questions you have already seen.";
    body.appendChild(note);
    el("prev").disabled = position === 1;
    el("next").disabled = position === state.questions.length;
    renderNavigator();
  }
  function renderQuestion(q) {
    state.loaded = true;
    var pending = loadPending()[q.position];
    var response = pending ? pending.response : q.response;
    state.revisions[q.position] = Math.max(state.revisions[q.position] || 0, q.revision || 0);
    el("question-heading").textContent = "Question " + q.position + " of " + q.count;
    el("question-marks").textContent = q.marks + (q.marks === 1 ? " mark" : " marks") + (q.type === "mcq" ? ". Choose one answer." : ". Write a short answer.");
    var body = el("question-body");
    body.textContent = "";
    if (q.type === "mcq") {
      var fieldset = document.createElement("fieldset");
      var legend = document.createElement("legend");
      legend.className = "stem";
      legend.textContent = q.stem;
      fieldset.appendChild(legend);
      q.options.forEach(function (option, i) {
        var id = "option-" + q.position + "-" + i;
        var wrap = document.createElement("div");
        wrap.className = "option";
        var input = document.createElement("input");
        input.type = "radio"; input.name = "answer"; input.id = id; input.value = option.value;
        input.checked = response === option.value;
        input.addEventListener("change", function () { queueSave(q.position, option.value); });
        var label = document.createElement("label");
        label.htmlFor = id;
        label.textContent = String.fromCharCode(65 + i) + ". " + option.text;
        wrap.appendChild(input); wrap.appendChild(label);
        fieldset.appendChild(wrap);
      });
      body.appendChild(fieldset);
    } else {
      var stem = document.createElement("p");
      stem.className = "stem"; stem.id = "stem-" + q.position; stem.textContent = q.stem;
      var label = document.createElement("label");
      label.htmlFor = "answer-" + q.position; label.textContent = "Your answer";
      var area = document.createElement("textarea");
      area.id = "answer-" + q.position; area.rows = 8; area.maxLength = q.max_length;
      area.setAttribute("aria-describedby", "stem-" + q.position + " counter-" + q.position);
      area.value = response || "";
      var counter = document.createElement("p");
      counter.id = "counter-" + q.position; counter.className = "hint counter";
      var count = function () { counter.textContent = area.value.length + " of " + q.max_length + " characters"; };
      count();
      area.addEventListener("input", function () {
        count();
        var value = area.value;
        markAnswered(q.position, value.trim() !== "");
        setPending(q.position, value, nextRevision(q.position));
        setSaveStatus("Saving…");
        window.clearTimeout(state.typingTimer);
        state.typingTimer = window.setTimeout(flushPending, 800);
      });
      area.addEventListener("blur", function () { flushPending(); });
      area.addEventListener("paste", function () { report("paste"); });
      body.appendChild(stem); body.appendChild(label); body.appendChild(area); body.appendChild(counter);
    }
    var flag = el("flag");
    flag.setAttribute("aria-pressed", q.flagged ? "true" : "false");
    flag.textContent = q.flagged ? "Remove flag" : "Flag for review";
    state.questions[q.position - 1].flagged = q.flagged;
    el("prev").disabled = q.position === 1;
    el("next").disabled = q.position === q.count;
    setInputsEnabled(!state.stopped && !state.over && !state.superseded);
  }

  function toggleFlag() {
    var q = state.questions[state.position - 1];
    var flagged = !q.flagged;
    request("PUT", lane + "/flags/" + q.position, { flagged: flagged }).then(function (r) {
      if (!r.ok) { if (r.data.error === "superseded") { superseded(); } else { say(r.data.message || "Could not flag."); } return; }
      q.flagged = flagged;
      var button = el("flag");
      button.setAttribute("aria-pressed", flagged ? "true" : "false");
      button.textContent = flagged ? "Remove flag" : "Flag for review";
      renderNavigator();
    });
  }

  function showReview() {
    flushPending();
    el("question-area").hidden = true;
    el("review").hidden = false;
    var unanswered = state.questions.filter(function (q) { return !q.answered; });
    var flagged = state.questions.filter(function (q) { return q.flagged; });
    el("review-summary").textContent = "You have answered " + (state.questions.length - unanswered.length) + " of " + state.questions.length + " questions.";
    fill(el("review-unanswered"), unanswered, "None: every question has an answer.");
    fill(el("review-flagged"), flagged, "None.");
    el("review-heading").focus();
  }
  function fill(list, items, empty) {
    list.textContent = "";
    if (!items.length) { var li = document.createElement("li"); li.textContent = empty; list.appendChild(li); return; }
    items.forEach(function (q) {
      var li = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button"; button.className = "button-link";
      button.textContent = "Question " + q.position;
      button.addEventListener("click", function () { go(q.position); });
      li.appendChild(button); list.appendChild(li);
    });
  }
  function submit() {
    var dialog = el("confirm-submit");
    if (typeof dialog.showModal === "function") { dialog.showModal(); el("confirm-no").focus(); } else { reallySubmit(); }
  }
  function reallySubmit() {
    el("confirm-yes").disabled = true;
    flushPending().then(function () {
      return request("POST", api + "/submit", { confirm: true, client_token: token });
    }).then(function (r) {
      if (r.ok || (r.data && r.data.error === "already_submitted")) { storePending({}); window.location.assign(finishedUrl); return; }
      el("confirm-yes").disabled = false;
      el("confirm-submit").close();
      say(r.data.message || "The test could not be submitted. Try again.");
    }).catch(function () { el("confirm-yes").disabled = false; say("Connection lost. Your answers are kept; try again."); });
  }

  function report(kind) {
    if (state.over || state.superseded) { return; }
    request("POST", lane + "/events", { kind: kind }).catch(function () {});
  }

  // ---- wiring ----
  el("prev").addEventListener("click", function () { go(state.position - 1); });
  el("next").addEventListener("click", function () { go(state.position + 1); });
  el("flag").addEventListener("click", toggleFlag);
  el("time-left").addEventListener("click", timeLeft);
  el("to-review").addEventListener("click", showReview);
  el("back-to-questions").addEventListener("click", function () { go(state.position); });
  el("submit").addEventListener("click", submit);
  el("navigator").addEventListener("keydown", onNavigatorKey);
  el("confirm-yes").addEventListener("click", reallySubmit);
  el("confirm-no").addEventListener("click", function () { el("confirm-submit").close(); el("submit").focus(); });
  window.addEventListener("blur", function () { report("blur"); });
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { resync(); } });
  window.addEventListener("online", function () {
    setOffline(false); resync(); flushPending(); heartbeat(); keepPosition(state.position);
    if (!state.loaded || !state.seen[state.position]) { load(state.position, false); }
  });
  window.addEventListener("offline", function () { setOffline(true); });
  if (navigator.onLine === false) { setOffline(true); }

  // The page arrives with the navigator, the clock and the question on screen (no request before the first
  // question shows); a page without them (or any later load) asks the fast lane.
  var initial = null;
  try { initial = JSON.parse((el("sitting-initial") || {}).textContent || "null"); } catch (e) { initial = null; }
  var firstLoad = initial && initial.status ? Promise.resolve({ ok: true, status: 200, data: initial.status }) : request("GET", lane);
  firstLoad.then(function (r) {
    if (!r.ok) { say(r.data.message || "The test could not be loaded."); if (r.data.error === "already_submitted") { finish(); } return; }
    state.questions = r.data.questions;
    state.questions.forEach(function (q) { state.revisions[q.position] = q.revision || 0; });
    var pending = loadPending();
    Object.keys(pending).forEach(function (p) { markAnswered(Number(p), (pending[p].response || "").trim() !== ""); });
    applyClock(r.data.clock);
    flushPending();
    state.keptPosition = r.data.position || 1;
    go(r.data.position || 1);
    window.setInterval(tick, 1000);
    scheduleResync();
    startLive();
    heartbeat();
    window.setInterval(heartbeat, 15000);
  });
})();
