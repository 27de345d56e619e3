// The kill switch panel (risk role): the switches (GET /api/kill-switches/, engaged first), an engage form
// with a confirm step (POST /api/kill-switches/), a release per engaged switch
// (POST /api/kill-switches/<id>/release/), and the desk's working order count (GET /api/orders/?active=true).
// When it loads again:
//   - after each engage or release;
//   - on every (re)connect of the blotter's websocket (/ws/blotter/), and on its order and fill messages,
//     debounced: a switch's cancellations show as the count falls;
//   - every POLL_MS while the tab is visible: a switch engaged or released elsewhere sends no message of its own.
// One request at a time; one asked for meanwhile runs after it, so the newest data lands last.
// API errors ({"error": {"code", "message", "fields"}}, oms/api/errors.py) show next to the field they name.
// Every piece of data reaches the page through textContent, never as HTML.
"use strict";
(function () {
  const { time, el } = window.fmt;
  const { request: api, problem, getJson } = window.api;
  const $ = (id) => document.getElementById(id);
  const live = $("live");
  const working = $("risk-working");
  const updated = $("risk-updated");
  const errorBox = $("risk-error");
  const errorText = $("risk-error-text");
  const form = $("risk-form");
  const scopeSelect = $("risk-scope");
  const scopeHelp = $("risk-scope-help");
  const targetLabel = $("risk-target-label");
  const reasonInput = $("risk-reason");
  const engageButton = $("risk-engage");
  const notice = $("risk-notice");
  const confirmDialog = $("risk-confirm-dialog");
  const confirmButton = $("risk-confirm");
  const releaseDialog = $("risk-release-dialog");
  const releaseForm = $("risk-release-form");
  const releaseReason = $("risk-release-reason");
  const releaseError = $("risk-release-error");
  const releaseConfirm = $("risk-release-confirm");
  const switchesBody = document.querySelector("#risk-switches tbody");
  const empty = $("risk-empty");
  const engagedCount = $("risk-engaged-count");
  const REFRESH_MS = 250; // a kill's burst of cancellations makes one request
  const POLL_MS = 10000;
  const SEARCH_MS = 200;
  let connected = false; // the socket has opened once: a reopen reads the portfolios and venues again

  // Each scope: the API field its target goes in, the control that takes it, and what engaging it does.
  const SCOPES = {
    FIRM: { field: null, control: $("risk-target-none"), help: "every order of the firm",
            effect: () => "cancels every working order" },
    PORTFOLIO: { field: "portfolio", control: $("risk-target-portfolio"), help: "one portfolio's orders",
                 effect: (t) => "cancels every working order of " + t },
    TRADER: { field: "trader", control: $("risk-target-trader"), help: "the orders one user entered",
              effect: (t) => "cancels every working order " + t + " entered" },
    INSTRUMENT: { field: "instrument", control: $("risk-target-instrument"),
                  help: "an instrument, its options and the packages with it as a leg",
                  effect: (t) => "cancels every working order in " + t + ", its options and its packages" },
    VENUE: { field: "venue", control: $("risk-target-venue"), help: "a venue or an RFQ dealer",
             effect: (t) => "cancels the child orders working at " + t + " and closes it to the router and RFQs" },
  };
  const pageOf = (body) => (Array.isArray(body) ? body : (body && body.results) || []);

  // ---- the engage form --------------------------------------------------------

  function scope() { return SCOPES[scopeSelect.value] || SCOPES.FIRM; }
  function target() { const s = scope(); return s.field ? s.control.value.trim() : ""; }

  function showScope() {
    const s = scope();
    Object.values(SCOPES).forEach((other) => {
      other.control.hidden = other !== s;
      other.control.removeAttribute("data-testid");
    });
    if (s.field) {
      s.control.dataset.testid = "risk-target";
      targetLabel.htmlFor = s.control.id;
    } else {
      targetLabel.removeAttribute("for");
    }
    scopeHelp.textContent = s.help;
    fieldError("target", null);
  }
  scopeSelect.addEventListener("change", showScope);

  function fieldError(name, message) {
    const box = $("risk-err-" + name);
    box.hidden = message == null;
    box.textContent = message == null ? "" : message;
    const input = name === "target" ? scope().control : name === "reason" ? reasonInput : name === "scope" ? scopeSelect : null;
    if (input && input.tagName !== "SPAN") {
      if (message == null) input.removeAttribute("aria-invalid");
      else input.setAttribute("aria-invalid", "true");
    }
  }
  function clearErrors() { ["scope", "target", "reason", "general"].forEach((name) => fieldError(name, null)); }

  // Show an API refusal: each field's reasons beside it (a scope/target mismatch is the target's), the rest above
  // the button; the message always, so nothing goes unsaid.
  function showProblem(p) {
    let placed = false;
    Object.entries(p.fields).forEach(([field, reasons]) => {
      const name = field === "reason" ? "reason" : field === "scope" || field === scope().field ? "target" : null;
      if (name) { fieldError(name, reasons.join(" ")); placed = true; }
    });
    if (!placed || Object.keys(p.fields).length === 0) fieldError("general", p.message);
  }

  function confirmText() {
    const s = scope();
    const t = target();
    return {
      title: "Engage " + scopeSelect.value + " kill switch" + (s.field ? " on " + t : "") + ": " + s.effect(t),
      more: scopeSelect.value === "VENUE"
        ? "Orders working elsewhere go on; the venue takes nothing new until risk releases the switch."
        : "New orders in its scope are refused until risk releases the switch.",
    };
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearErrors();
    notice.textContent = "";
    let ok = true;
    if (scope().field && !target()) {
      fieldError("target", "choose the " + scope().field + " to stop");
      ok = false;
    }
    if (!reasonInput.value.trim()) {
      fieldError("reason", "say why the switch is engaged");
      ok = false;
    }
    if (!ok) {
      (scope().field && !target() ? scope().control : reasonInput).focus();
      return;
    }
    const text = confirmText();
    $("risk-confirm-title").textContent = text.title;
    $("risk-confirm-more").textContent = text.more;
    $("risk-confirm-reason").textContent = "Reason: " + reasonInput.value.trim();
    confirmDialog.dataset.scope = scopeSelect.value;
    confirmDialog.showModal();
  });

  $("risk-confirm-cancel").addEventListener("click", () => confirmDialog.close());

  let engaging = false;
  confirmButton.addEventListener("click", async () => {
    if (engaging) return; // one click, one switch
    engaging = true;
    confirmButton.setAttribute("aria-disabled", "true");
    const s = scope();
    const payload = { scope: scopeSelect.value, reason: reasonInput.value.trim() };
    if (s.field) payload[s.field] = target();
    try {
      const answer = await api("POST", "/api/kill-switches/", payload);
      confirmDialog.close();
      if (answer.ok) {
        const engaged = answer.body || {};
        const event = (engaged.events || []).find((e) => e.action === "ENGAGED");
        const cancelled = event && event.data && Array.isArray(event.data.orders_cancelled) ? event.data.orders_cancelled.length : null;
        notice.textContent = "Engaged #" + engaged.id + " " + (engaged.target || payload.scope) +
          (cancelled != null ? ": " + cancelled + " order" + (cancelled === 1 ? "" : "s") + " being cancelled" : "");
        reasonInput.value = "";
        if (s.field) s.control.value = "";
      } else {
        showProblem(problem(answer.status, answer.body));
      }
    } catch (error) {
      confirmDialog.close();
      fieldError("general", "Not sent: " + (error.message || error) + ". Nothing was engaged unless the list below shows it.");
    } finally {
      engaging = false;
      confirmButton.removeAttribute("aria-disabled");
      runRefresh();
    }
  });

  // The instrument search: symbols starting with what is typed, newest request wins.
  const search = { timer: null, controller: null };
  $("risk-target-instrument").addEventListener("input", (event) => {
    clearTimeout(search.timer);
    const text = event.target.value.trim();
    search.timer = setTimeout(() => searchInstruments(text), SEARCH_MS);
  });
  async function searchInstruments(text) {
    if (search.controller) search.controller.abort();
    const list = $("risk-instruments");
    if (!text) { list.replaceChildren(); return; }
    const controller = new AbortController();
    search.controller = controller;
    try {
      const body = await getJson("/api/instruments/?limit=20&search=" + encodeURIComponent(text), controller.signal);
      if (search.controller !== controller) return;
      list.replaceChildren(...pageOf(body).map((i) => {
        const option = el("option");
        option.value = i.symbol;
        option.textContent = i.name + (i.active ? "" : " (inactive)");
        return option;
      }));
    } catch (error) {
      if (error.name !== "AbortError") console.error("instrument search failed", error);
    } finally {
      if (search.controller === controller) search.controller = null;
    }
  }

  // The portfolio and venue choices, once (a (re)connect reads them again).
  async function loadChoices() {
    const [portfolios, venues] = await Promise.all([
      getJson("/api/portfolios/?limit=1000"), getJson("/api/venues/?limit=1000"),
    ]);
    const portfolioSelect = $("risk-target-portfolio");
    const keepPortfolio = portfolioSelect.value;
    portfolioSelect.replaceChildren(portfolioSelect.options[0], ...pageOf(portfolios).map((p) => {
      const option = el("option", null, p.code + " · " + p.name);
      option.value = p.code;
      return option;
    }));
    portfolioSelect.value = keepPortfolio;
    const venueSelect = $("risk-target-venue");
    const keepVenue = venueSelect.value;
    const byKind = new Map();
    pageOf(venues).forEach((v) => {
      if (!byKind.has(v.kind)) byKind.set(v.kind, el("optgroup"));
      const group = byKind.get(v.kind);
      group.label = String(v.kind).replaceAll("_", " ");
      const option = el("option", null, v.code + " · " + v.name + (v.halted ? " (halted)" : ""));
      option.value = v.code;
      group.appendChild(option);
    });
    venueSelect.replaceChildren(venueSelect.options[0], ...byKind.values());
    venueSelect.value = keepVenue;
  }

  // ---- the release dialog -----------------------------------------------------

  let releasing = null; // the switch the dialog is about
  switchesBody.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-testid=risk-release]");
    if (!button) return;
    const tr = button.closest("tr");
    releasing = { id: Number(tr.dataset.id), what: tr.dataset.what, button };
    $("risk-release-title").textContent = "Release kill switch #" + releasing.id;
    $("risk-release-what").textContent = releasing.what;
    releaseReason.value = "";
    releaseReason.removeAttribute("aria-invalid");
    releaseError.hidden = true;
    releaseDialog.showModal();
    releaseReason.focus();
  });
  $("risk-release-cancel").addEventListener("click", () => releaseDialog.close());
  releaseDialog.addEventListener("close", () => {
    const row = releasing && switchesBody.querySelector('tr[data-id="' + releasing.id + '"] button[data-testid=risk-release]');
    if (row) row.focus();
  });

  releaseForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!releasing || releaseConfirm.getAttribute("aria-disabled") === "true") return;
    const reason = releaseReason.value.trim();
    if (!reason) {
      releaseError.textContent = "say why the switch is released";
      releaseError.hidden = false;
      releaseReason.setAttribute("aria-invalid", "true");
      releaseReason.focus();
      return;
    }
    releaseConfirm.setAttribute("aria-disabled", "true");
    try {
      const answer = await api("POST", "/api/kill-switches/" + encodeURIComponent(releasing.id) + "/release/", { reason });
      if (answer.ok) {
        notice.textContent = "Released #" + releasing.id + " " + releasing.what;
        releaseDialog.close();
      } else {
        const p = problem(answer.status, answer.body);
        releaseError.textContent = p.fields.reason ? p.fields.reason.join(" ") : p.message;
        releaseError.hidden = false;
      }
    } catch (error) {
      releaseError.textContent = "Not sent: " + (error.message || error);
      releaseError.hidden = false;
    } finally {
      releaseConfirm.removeAttribute("aria-disabled");
      runRefresh();
    }
  });

  // ---- the switches -------------------------------------------------------------

  const openAudits = new Set(); // the switches whose audit trail the user opened
  let shown = ""; // what the table shows, to skip a refresh that changed nothing (and keep focus, selection)

  function cell(text, cls) { return el("td", cls, text == null || text === "" ? "—" : text); }
  const when = (iso) => (iso ? new Date(iso).toLocaleString(undefined, { hour12: false }) : "");

  function audit(s) {
    const td = el("td", "audit");
    const events = s.events || [];
    if (!events.length) return cell("", "audit");
    const box = el("details");
    box.open = openAudits.has(s.id);
    box.addEventListener("toggle", () => { if (box.open) openAudits.add(s.id); else openAudits.delete(s.id); });
    box.appendChild(el("summary", null, events.length + " event" + (events.length === 1 ? "" : "s")));
    const list = el("ol", "events");
    events.forEach((e) => {
      const item = el("li");
      item.append(el("span", "dim", when(e.created_at)), " ", el("b", null, e.action), " ", e.actor || "");
      if (e.reason) item.append(": " + e.reason);
      const cancelled = e.data && Array.isArray(e.data.orders_cancelled) ? e.data.orders_cancelled : null;
      if (cancelled) {
        item.append(el("span", "dim", " · " + cancelled.length + " order" + (cancelled.length === 1 ? "" : "s") + " cancelled" +
          (cancelled.length ? " (#" + cancelled.slice(0, 20).join(", #") + (cancelled.length > 20 ? ", …" : "") + ")" : "")));
      }
      list.appendChild(item);
    });
    box.appendChild(list);
    td.appendChild(box);
    return td;
  }

  function renderSwitches(switches) {
    const signature = JSON.stringify(switches);
    if (signature === shown) return;
    shown = signature;
    // what had the focus in the table (a release button, an audit's summary), to give it back after the rebuild
    const active = document.activeElement && switchesBody.contains(document.activeElement) ? document.activeElement : null;
    const focused = active ? active.closest("tr").dataset.id : null;
    const focusedTag = active ? active.tagName.toLowerCase() : null;
    const rows = switches.map((s) => {
      const tr = el("tr", s.engaged ? "engaged" : "released");
      tr.dataset.id = s.id;
      tr.dataset.what = s.target || s.scope;
      const state = el("td", "state");
      state.appendChild(el("span", "state-badge", s.engaged ? "ENGAGED" : "released"));
      const released = s.engaged ? "" : [s.released_by, when(s.released_at)].filter(Boolean).join(" · ");
      const action = el("td", "action");
      if (s.engaged) {
        const button = el("button", "release", "Release…");
        button.type = "button";
        button.dataset.testid = "risk-release";
        button.setAttribute("aria-label", "Release kill switch #" + s.id + " " + (s.target || s.scope));
        action.appendChild(button);
      }
      tr.append(cell(String(s.id), "num"), state, cell(s.scope), cell(s.target, "target"), cell(s.reason, "wrap"),
        cell(s.engaged_by), cell(when(s.engaged_at)), cell(released), audit(s), action);
      return tr;
    });
    switchesBody.replaceChildren(...rows);
    empty.hidden = switches.length > 0;
    const n = switches.filter((s) => s.engaged).length;
    engagedCount.textContent = n ? n + " engaged" : "none engaged";
    engagedCount.classList.toggle("alarm", n > 0);
    if (focused != null) {
      const again = switchesBody.querySelector('tr[data-id="' + focused + '"] ' + focusedTag);
      if (again) again.focus({ preventScroll: true });
      else $("risk-switches-title").focus({ preventScroll: true }); // its button went with the release: stay near
    }
  }

  function renderWorking(count) {
    const text = String(count);
    if (working.textContent !== text && working.textContent !== "–") {
      working.classList.remove("flash-down", "flash-up");
      void working.offsetWidth; // restart the animation
      working.classList.add(Number(text) < Number(working.textContent) ? "flash-down" : "flash-up");
    }
    working.textContent = text;
  }

  // ---- loading ------------------------------------------------------------------

  const refresh = { inFlight: false, again: false, timer: null };

  function scheduleRefresh() {
    if (refresh.timer != null) return;
    refresh.timer = setTimeout(() => { refresh.timer = null; runRefresh(); }, REFRESH_MS);
  }

  async function runRefresh() {
    if (refresh.inFlight) { refresh.again = true; return; }
    refresh.inFlight = true;
    try {
      const [engaged, released, orders] = await Promise.all([
        getJson("/api/kill-switches/?engaged=true&limit=1000"),
        getJson("/api/kill-switches/?engaged=false&limit=50"),
        getJson("/api/orders/?active=true&limit=1"),
      ]);
      const byNewest = (a, b) => b.id - a.id;
      renderSwitches([...pageOf(engaged).sort(byNewest), ...pageOf(released).sort(byNewest)]);
      renderWorking(orders.count);
      updated.textContent = "as of " + time(new Date().toISOString());
      showError(null);
    } catch (error) {
      showError("Could not load: " + (error.message || error));
    } finally {
      refresh.inFlight = false;
      if (refresh.again) { refresh.again = false; runRefresh(); }
    }
  }

  function showError(message) {
    errorBox.hidden = message == null;
    errorText.textContent = message == null ? "" : message;
    document.getElementById("risk-switches").classList.toggle("stale", message != null);
  }
  $("risk-retry").addEventListener("click", () => { runRefresh(); loadChoices().catch(() => {}); });

  setInterval(() => {
    if (document.visibilityState === "visible" && !refresh.inFlight && refresh.timer == null) runRefresh();
  }, POLL_MS);
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") runRefresh(); });

  // ---- the websocket (as the blotter's: backoff, and a reload on every (re)connect) ----

  function connect() {
    window.api.live("/ws/blotter/", {
      indicator: live,
      onOpen() {
        runRefresh(); // (re)connected: what changed while away is only in the database
        if (connected) loadChoices().catch((e) => console.error("risk: portfolios and venues failed to load", e));
        connected = true;
      },
      onMessage(msg) {
        if (msg.type === "order" || msg.type === "fill") scheduleRefresh();
      },
    });
  }

  showScope();
  runRefresh(); // at once: the page does not wait for the socket (its open reloads again)
  loadChoices().catch((e) => console.error("risk: portfolios and venues failed to load", e));
  connect();
})();
