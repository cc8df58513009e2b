// The room board: refreshes every 5 seconds from the server without reloading the page.
(function () {
  "use strict";
  var board = document.getElementById("board");
  if (!board) { return; }
  var url = board.dataset.url;

  // The approve button at once, even while the invigilator is busy elsewhere on the page (the reload
  // that redraws every action waits until nothing is focused): a plain form POST with the page's token.
  function offerApproval(tr, row) {
    if (tr.querySelector(".approve-device")) { return; }
    var form = document.createElement("form");
    form.method = "post"; form.action = tr.dataset.allowDevice; form.className = "approve-device";
    var token = document.createElement("input");
    token.type = "hidden"; token.name = "csrf_token"; token.value = document.querySelector('meta[name="csrf-token"]').content;
    var button = document.createElement("button");
    button.type = "submit"; button.className = "button"; button.textContent = "Approve the new computer";
    var who = document.createElement("span");
    who.className = "visually-hidden"; who.textContent = " for " + row.candidate_number;
    button.appendChild(who); form.appendChild(token); form.appendChild(button);
    tr.querySelector(".actions").prepend(form);
  }

  function render(data) {
    var ratio = document.getElementById("ratio");
    var r = data.ratio;
    var text = r.in_progress + " in progress, " + r.invigilators_present + " invigilator(s) present, room for " + r.capacity + " (at most " + r.ratio + " each)";
    if (r.over) { text += ". OVER RATIO: new starts are stopped."; }
    if (data.sitting.room_paused) { text += " ROOM PAUSED."; }
    if (ratio.textContent.trim() !== text) { ratio.textContent = text; }
    ratio.className = "ratio" + (r.over ? " over" : "");
    var statusChanged = false;
    data.rows.forEach(function (row) {
      var tr = board.querySelector('tr[data-booking="' + row.booking_id + '"]');
      if (!tr) { statusChanged = true; return; }
      var status = tr.querySelector(".status");
      if (status.textContent.trim() !== row.status) { status.textContent = row.status; statusChanged = true; }
      tr.querySelector(".answered").textContent = row.answered + (row.questions ? " / " + row.questions : "");
      tr.querySelector(".remaining").textContent = row.time_left;
      var connection = tr.querySelector(".connection");
      if (connection.textContent !== row.connection_label) { connection.textContent = row.connection_label; }
      connection.className = "connection" + (row.connection === "offline" ? " offline" : "");
      tr.querySelector(".last-saved").textContent = row.last_saved;
      // A request for a new computer (or its approval) changes the actions offered: like a status change.
      if ((tr.dataset.device || "") !== row.device_request) {
        tr.dataset.device = row.device_request;
        statusChanged = true;
        if (row.device_request === "waiting") { offerApproval(tr, row); }
      }
      tr.querySelector(".warnings").textContent = row.warnings.join("; ");
    });
    document.getElementById("board-updated").textContent = data.server_time.substring(11, 19);
    // New actions depend on status: reload when nothing is being typed or pressed.
    if (statusChanged && (document.activeElement === document.body || document.activeElement === null)) {
      window.location.reload();
    }
  }

  // A line under the board saying why it is not refreshing (kept empty while all is well).
  function notice(text) {
    var line = document.getElementById("board-notice");
    if (!line) {
      line = document.createElement("p");
      line.id = "board-notice";
      line.setAttribute("role", "status");
      board.parentNode.insertBefore(line, board.nextSibling);
    }
    if (line.textContent !== text) { line.textContent = text; }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (response.status === 503) {
          notice("Server busy, answers are being retried. The board will refresh when the server is back.");
          return null;
        }
        if (!response.ok) { notice("The board could not be refreshed (" + response.status + "); trying again."); return null; }
        return response.json();
      })
      .then(function (data) { if (data) { notice(""); render(data); } })
      .catch(function () { notice("Connection lost; the board will refresh when it is back."); });
  }
  window.setInterval(poll, 5000);
})();
