/* Keyboard triage on a session page (loaded there only; no inline script).

   j / k      next / previous agenda item still to decide
   a          accept: the last-used owning department is preselected; Enter sends
   d          decline: type the reason (or pick a recent one), Enter in the
              field sends (Shift+Enter for a new line)
   m          merge into the suggested target (likely duplicates); Enter sends
   q          ask the submitter a question
   x          select the idea for "Decline selected"
   D          go to "Decline selected" (one reason for every selected idea)
   ?          show or hide this help
   Escape     close the open form

   u          undo the last decision taken from the keyboard

   The forms are the page's own HTMX forms: a key only opens one and moves the
   focus; nothing is sent without Enter or a click. After a decision the next
   item to decide gets the focus.

   Undo: the lifecycle has no way back from a council decision, so a decision
   sent from the keyboard (Enter: accept, decline, merge, question, "Decline
   selected", a group merge) is HELD here for UNDO_MS with an "Undo" button
   (and the u key) before it is sent; the next decision sends the held one at
   once, and leaving the page sends it too. A click sends at once, as before. */
(function () {
  "use strict";

  var DEPT_KEY = "touchpoint.triage.department";
  var REASONS_KEY = "touchpoint.triage.reasons";

  var UNDO_MS = 5000;
  var UNDOABLE = "form.decision-form, form#batch-decline, form[action$='/merge-group']";

  function items() {
    return Array.prototype.slice.call(
      document.querySelectorAll("article.agenda-item[data-open]:not(.decision-pending)"));
  }

  function current() {
    var el = document.activeElement;
    return el && el.closest ? el.closest("article.agenda-item") : null;
  }

  function focusItem(item) {
    if (!item) return;
    item.setAttribute("tabindex", "-1");
    item.focus();
    item.scrollIntoView({ block: "center" });
  }

  function move(step) {
    var list = items();
    if (!list.length) return;
    var at = list.indexOf(current());
    var next = at < 0 ? (step > 0 ? 0 : list.length - 1) : Math.min(Math.max(at + step, 0), list.length - 1);
    focusItem(list[next]);
  }

  function openForm(item, outcome) {
    if (!item) item = items()[0];
    if (!item) return null;
    var form = item.querySelector('form[data-testid^="decide-' + outcome + '-"]');
    if (!form) return null;
    var details = form.closest("details");
    item.querySelectorAll(".decision-forms details").forEach(function (d) { d.open = d === details; });
    return form;
  }

  function remember(key, value, keep) {
    try {
      if (keep) {
        var list = JSON.parse(localStorage.getItem(key) || "[]").filter(function (v) { return v !== value; });
        list.unshift(value);
        localStorage.setItem(key, JSON.stringify(list.slice(0, keep)));
      } else {
        localStorage.setItem(key, value);
      }
    } catch (e) { /* storage off: nothing to remember */ }
  }

  function recall(key, list) {
    try {
      return list ? JSON.parse(localStorage.getItem(key) || "[]") : localStorage.getItem(key);
    } catch (e) {
      return list ? [] : null;
    }
  }

  var actions = {
    a: function (item) {
      var form = openForm(item, "accept");
      if (!form) return;
      var select = form.querySelector("select[name=owning_department_id]");
      var last = recall(DEPT_KEY);
      if (select && last && !select.value && select.querySelector('option[value="' + last + '"]')) select.value = last;
      (select && !select.value ? select : form.querySelector("button[type=submit]")).focus();
    },
    d: function (item) {
      var form = openForm(item, "decline");
      if (!form) return;
      var note = form.querySelector("textarea[name=note]");
      var saved = form.querySelector("select.saved-reasons");
      var reasons = recall(REASONS_KEY, true);
      if (saved) {
        saved.length = 1;
        reasons.forEach(function (reason) {
          var option = document.createElement("option");
          option.value = reason;
          option.textContent = reason.length > 80 ? reason.slice(0, 79) + "…" : reason;
          saved.appendChild(option);
        });
        saved.closest(".field").hidden = !reasons.length;
      }
      note.focus();
    },
    m: function (item) {
      var form = openForm(item, "duplicate");
      if (!form) return;
      var input = form.querySelector("input[name=duplicate_of]");
      var target = form.closest("article.agenda-item").getAttribute("data-suggested-target");
      if (target && !input.value) input.value = target;
      (input.value ? form.querySelector("button[type=submit]") : input).focus();
    },
    x: function (item) {
      var pick = item && item.querySelector('input[name=idea_ids]');
      if (pick) pick.checked = !pick.checked;
    },
    D: function () {
      var note = document.getElementById("batch-decline-note");
      if (note) { note.scrollIntoView({ block: "center" }); note.focus(); }
    },
    q: function (item) {
      var form = openForm(item, "needs_info");
      if (form) form.querySelector("textarea[name=question]").focus();
    },
  };

  function typing(event) {
    var el = event.target;
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }

  function toggleHelp() {
    var help = document.getElementById("triage-keys-help");
    if (!help) return;
    if (help.open) help.close(); else help.showModal();
  }

  // -- the held decision ------------------------------------------------------------

  var lastInput = "pointer";
  var held = null; // {form, submitter, item, timer}
  var undoText = document.getElementById("triage-undo-text");
  var undoButton = document.getElementById("triage-undo-button");

  document.addEventListener("keydown", function () { lastInput = "key"; }, true);
  document.addEventListener("pointerdown", function () { lastInput = "pointer"; }, true);

  function describe(form) {
    var outcome = form.querySelector("input[name=outcome]");
    var what = { accept: "Accept", decline: "Decline", duplicate: "Merge", needs_info: "Question" };
    var item = form.closest("article.agenda-item");
    var title = item && item.querySelector(".idea-title a");
    if (outcome) return what[outcome.value] + " of “" + (title ? title.textContent : "this idea") + "”";
    if (form.id === "batch-decline") return "Decline of the selected ideas";
    return "Merge of the group";
  }

  function showHeld(text) {
    if (undoText) undoText.textContent = text;
    if (undoButton) undoButton.hidden = !held;
  }

  function send(h) {
    clearTimeout(h.timer);
    if (h.item) h.item.classList.remove("decision-pending");
    h.form.setAttribute("data-released", "");
    if (h.submitter) h.form.requestSubmit(h.submitter); else h.form.requestSubmit();
  }

  function sendHeld() {
    var h = held;
    held = null;
    showHeld("");
    if (h) send(h);
  }

  function hold(form, submitter) {
    sendHeld(); // the previous one goes now
    var item = form.closest("article.agenda-item");
    held = { form: form, submitter: submitter, item: item, timer: setTimeout(sendHeld, UNDO_MS) };
    showHeld(describe(form) + ": sent in " + UNDO_MS / 1000 + " seconds.");
    if (item) {
      item.classList.add("decision-pending");
      var list = items();
      var after = list.filter(function (el) { return item.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING; });
      focusItem(after[0] || list[0]);
    }
  }

  function undo() {
    var h = held;
    if (!h) return;
    held = null;
    clearTimeout(h.timer);
    showHeld(describe(h.form) + " undone: nothing was sent.");
    if (h.item) {
      h.item.classList.remove("decision-pending");
      var details = h.form.closest("details");
      if (details) details.open = true;
      (h.submitter || h.form.querySelector("button[type=submit]")).focus();
    } else {
      (h.submitter || h.form.querySelector("button[type=submit]") || h.form).focus();
    }
  }

  // keyboard decisions are held; a click (and the held one, once released) goes through
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches(UNDOABLE)) return;
    if (form.hasAttribute("data-released")) { form.removeAttribute("data-released"); return; }
    if (lastInput !== "key") return;
    event.preventDefault();
    event.stopPropagation(); // HTMX listens on the form; "remember" (below) still runs
    hold(form, event.submitter);
  }, true);

  if (undoButton) undoButton.addEventListener("click", undo);

  // leaving the page sends what is held (a beacon: the page may be gone before a reply)
  window.addEventListener("pagehide", function () {
    var h = held;
    if (!h) return;
    held = null;
    clearTimeout(h.timer);
    navigator.sendBeacon(h.form.action, new FormData(h.form, h.submitter || undefined));
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Escape") {
      var open = current() && current().querySelector(".decision-forms details[open]");
      if (open) { open.open = false; focusItem(current()); event.preventDefault(); }
      return;
    }
    // Enter sends a decline reason or a question from its field (Shift+Enter: new line)
    if (event.key === "Enter" && !event.shiftKey && event.target.tagName === "TEXTAREA" &&
        event.target.closest("form.decision-form, form#batch-decline")) {
      event.preventDefault();
      event.target.form.requestSubmit();
      return;
    }
    if (typing(event)) return;
    if (event.key === "?") { toggleHelp(); event.preventDefault(); return; }
    if (event.key === "u") { undo(); event.preventDefault(); return; }
    if (event.key === "j") { move(1); event.preventDefault(); return; }
    if (event.key === "k") { move(-1); event.preventDefault(); return; }
    var act = actions[event.key];
    if (act) { act(current()); event.preventDefault(); }
  });

  // a saved reason chosen from the list becomes the note
  document.addEventListener("change", function (event) {
    var saved = event.target;
    if (!saved.matches || !saved.matches("select.saved-reasons") || !saved.value) return;
    var note = saved.form.querySelector("textarea[name=note]");
    note.value = saved.value;
    note.focus();
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form.decision-form")) return;
    var outcome = form.querySelector("input[name=outcome]").value;
    if (outcome === "accept") remember(DEPT_KEY, form.querySelector("select[name=owning_department_id]").value);
    if (outcome === "decline") remember(REASONS_KEY, form.querySelector("textarea[name=note]").value.trim(), 8);
  }, true);

  // after a decision, the next item still to decide gets the focus
  document.body.addEventListener("htmx:afterSwap", function (event) {
    var swapped = event.detail && event.detail.target;
    if (!swapped || !swapped.id || swapped.id.indexOf("agenda-") !== 0) return;
    var item = document.getElementById(swapped.id);
    if (item && item.hasAttribute("data-open")) return; // the form came back with errors
    // a held decision sent later: the council has moved on, leave the focus where it is
    var active = document.activeElement;
    if (active && active !== document.body && !(item && item.contains(active))) return;
    var list = items();
    var after = list.filter(function (el) {
      return item && (item.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING);
    });
    focusItem(after[0] || list[0]);
  });

  var helpButton = document.getElementById("triage-keys-button");
  if (helpButton) helpButton.addEventListener("click", toggleHelp);
  var closeButton = document.getElementById("triage-keys-close");
  if (closeButton) closeButton.addEventListener("click", toggleHelp);
})();
