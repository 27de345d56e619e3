// How every screen talks to the REST API: one request helper (session cookie, CSRF header on writes, JSON both
// ways), one reading of the API's error body, and GET-or-throw. Loaded by base.html before the screens' modules.
"use strict";
window.api = (function () {
  function csrfToken() {
    const cookie = document.cookie.split("; ").find((c) => c.startsWith("csrftoken="));
    if (cookie) return decodeURIComponent(cookie.slice("csrftoken=".length));
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // Resolve to {ok, status, body}; reject only when no answer came (network down, or aborted).
  async function request(method, url, payload, signal) {
    const headers = { Accept: "application/json" };
    const init = { method, credentials: "same-origin", headers, signal };
    if (method !== "GET") {
      headers["Content-Type"] = "application/json";
      headers["X-CSRFToken"] = csrfToken();
      init.body = JSON.stringify(payload || {});
    }
    const response = await fetch(url, init);
    let body = null;
    try { body = await response.json(); } catch (_) { /* not JSON: the status says enough */ }
    return { ok: response.ok, status: response.status, body };
  }

  // What a refusal says, whichever shape it comes in: the API's {"error": {"message", "fields", "details"}}
  // (oms.api.errors), DRF's {"detail": "..."}, or a bare {field: [messages]}. Fields come back as lists of strings.
  function problem(status, body) {
    let message = "";
    let fields = {};
    let details = null;
    if (body && typeof body.error === "object" && body.error !== null) {
      message = body.error.message ? String(body.error.message) : "";
      fields = body.error.fields || {};
      details = Array.isArray(body.error.details) ? body.error.details : null;
    } else if (body && body.detail != null) {
      message = String(body.detail);
    } else if (body && typeof body === "object" && !Array.isArray(body)) {
      fields = body;
    } else if (Array.isArray(body)) {
      message = body.join(" ");
    }
    const clean = {};
    Object.entries(fields).forEach(([field, reasons]) => {
      clean[field] = (Array.isArray(reasons) ? reasons : [reasons]).map(String);
    });
    if (!message) {
      message = Object.entries(clean).map(([field, reasons]) => field + ": " + reasons.join(" ")).join("; ");
    }
    if (!message) {
      message = status === 401 || status === 403 ? "not allowed (logged out?)" : status === 404 ? "not found" : "HTTP " + status;
    }
    return { message, fields: clean, details };
  }

  // The body of a GET that answered 2xx; else throw with the API's reason.
  async function getJson(url, signal) {
    const answer = await request("GET", url, null, signal);
    if (!answer.ok) throw new Error(url.split("?")[0] + ": " + problem(answer.status, answer.body).message);
    return answer.body;
  }

  // A websocket on this host that reconnects with backoff (0.5 s, doubling to 10 s) and shows its state on
  // `indicator` (the page's "live" badge). `onOpen` runs on every (re)connect: whatever was published while
  // away is only in the database, so each page reloads there. `onMessage` gets each message parsed.
  function live(path, { onOpen, onMessage, indicator }) {
    let retryMs = 500;
    function show(text, on) {
      if (!indicator) return;
      indicator.textContent = text;
      indicator.className = "live " + (on ? "on" : "off");
      indicator.title = "websocket";
    }
    function connect() {
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      const ws = new WebSocket(scheme + "://" + location.host + path);
      ws.onopen = () => {
        retryMs = 500;
        show("live", true);
        if (onOpen) onOpen();
      };
      ws.onmessage = (event) => onMessage(JSON.parse(event.data));
      ws.onclose = () => {
        show("reconnecting…", false);
        setTimeout(connect, retryMs);
        retryMs = Math.min(retryMs * 2, 10000);
      };
    }
    connect();
  }

  return { csrfToken, request, problem, getJson, live };
})();
