/* Touchpoint client glue. Loaded with <script src defer>; the CSP allows no
   inline script. CSRF is sent by hx-headers on <body>, buttons are real
   <button>s, so this only reports failed HTMX requests to the user. */
(function () {
  "use strict";

  /* The menu button: on a phone the main navigation folds behind it (CSS
     does so only once this has run, so without JavaScript it stays open). */
  document.documentElement.classList.add("js");
  function wireMenu() {
    var toggle = document.querySelector(".nav-toggle");
    var nav = document.getElementById("main-nav");
    if (!toggle || !nav) return;
    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      nav.classList.toggle("is-open", open);
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && toggle.getAttribute("aria-expanded") === "true") {
        toggle.setAttribute("aria-expanded", "false");
        nav.classList.remove("is-open");
        toggle.focus();
      }
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", wireMenu);
  else wireMenu();

  var MAX_LENGTH = 400;

  /** The #flash region, created at the top of <main> (or <body>) if missing. */
  function flashRegion() {
    var region = document.getElementById("flash");
    if (!region) {
      region = document.createElement("div");
      region.id = "flash";
      var host = document.querySelector("main") || document.body;
      host.insertBefore(region, host.firstChild);
    }
    region.setAttribute("role", "alert");
    return region;
  }

  /** Show one error message (as text, never HTML), replacing earlier ones from here. */
  function showError(message) {
    var region = flashRegion();
    clearErrors(region);
    var box = document.createElement("div");
    box.className = "flash flash-error";
    box.setAttribute("data-source", "htmx");
    var text = document.createElement("p");
    text.textContent = message;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "flash-close";
    close.setAttribute("data-dismiss", "flash");
    close.setAttribute("aria-label", "Dismiss message");
    close.textContent = "\u00d7";
    box.appendChild(text);
    box.appendChild(close);
    region.appendChild(box);
  }

  function clearErrors(region) {
    region = region || document.getElementById("flash");
    if (!region) return;
    var old = region.querySelectorAll('[data-source="htmx"]');
    for (var i = 0; i < old.length; i++) old[i].remove();
  }

  function clip(text) {
    text = String(text).replace(/\s+/g, " ").trim();
    return text.length > MAX_LENGTH ? text.slice(0, MAX_LENGTH - 1) + "\u2026" : text;
  }

  /** The server's message: JSON `detail` (plus field messages), else the body's text. */
  function messageFrom(xhr) {
    var status = xhr ? xhr.status : 0;
    var fallback = status
      ? "Something went wrong (HTTP " + status + "). Please try again."
      : "Something went wrong. Please try again.";
    if (!xhr) return fallback;
    var body = xhr.responseText || "";
    var type = (xhr.getResponseHeader("Content-Type") || "").toLowerCase();
    if (type.indexOf("json") !== -1 || /^\s*[{[]/.test(body)) {
      try {
        var data = JSON.parse(body);
        var parts = [];
        if (data && typeof data.detail === "string") parts.push(data.detail);
        else if (data && data.detail != null) parts.push(JSON.stringify(data.detail));
        if (data && Array.isArray(data.extra)) {
          data.extra.forEach(function (item) {
            if (item && item.message) parts.push((item.key ? item.key + ": " : "") + item.message);
          });
        }
        if (parts.length) return clip(parts.join(" \u2014 "));
      } catch (e) {
        /* not JSON after all: fall through to text */
      }
    }
    if (type.indexOf("html") !== -1) {
      var doc = new DOMParser().parseFromString(body, "text/html"); // inert: no scripts run
      var main = doc.querySelector("main, h1, .errors, p") || doc.body;
      body = main ? main.textContent : "";
    }
    body = clip(body);
    return body || fallback;
  }

  /** Was the request made by the page itself (hx-trigger="load" / polling), not by a click or key? */
  function isBackground(detail) {
    var config = detail && detail.requestConfig;
    var trigger = config && config.triggeringEvent;
    return !trigger || trigger.type === "load" || trigger.type === "htmx:load";
  }

  document.addEventListener("htmx:responseError", function (evt) {
    var detail = evt.detail || {};
    if (isBackground(detail)) {
      showError("Part of this page could not be loaded. Reload the page to try again.");
      return;
    }
    showError(messageFrom(detail.xhr));
  });
  document.addEventListener("htmx:sendError", function () {
    showError("Could not reach the server. Check your connection and try again.");
  });
  document.addEventListener("htmx:timeout", function () {
    showError("The server took too long to answer. Please try again.");
  });
  // A new request makes earlier request errors stale.
  // (A background refresh, such as the inbox badge, leaves them alone.)
  document.addEventListener("htmx:beforeRequest", function (evt) {
    if (!isBackground(evt.detail)) clearErrors();
  });

  // Dismiss buttons, in server-rendered flashes too: <button data-dismiss="flash">.
  document.addEventListener("click", function (evt) {
    var target = evt.target instanceof Element ? evt.target.closest('[data-dismiss="flash"]') : null;
    if (!target) return;
    var box = target.closest(".flash");
    if (box) box.remove();
  });
})();
