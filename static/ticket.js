// The order ticket: a new parent order, or the amend of a working one, in the <dialog id="ticket">
// (templates/_ticket.html). window.Ticket = { open(prefill?), amend(order) }.
//
// New order: portfolio (GET /api/portfolios/), instrument (GET /api/instruments/?search=<prefix>&active=true,
// a combobox: ↑ ↓ move, Enter picks, Esc closes the list), side, qty, type, limit, TIF, urgency, strategy
// (GET /api/strategies/: "Auto" or one strategy and its parameters, inputs generated from each one's spec;
// the RFQ's dealers from GET /api/dealers/), start and end. Each field is checked as it is typed (qty a
// positive multiple of the lot, the limit on the tick, ...), with its error under it (aria-describedby).
// Once the whole order is valid here, POST /api/orders/check/ (debounced) runs every check a submit runs,
// stores nothing, and the results list shows each pre-trade check (passed or failed, value against limit,
// its words) with the notional. Send is "Send" only while the check of exactly these terms passed; it
// POSTs /api/orders/ with a client order id generated per ticket (a resend after a lost answer is
// idempotent). A 400 puts each field's error under the field and the pre-trade failures in the results.
// Sent: the dialog closes and "blotter:open-order" opens the order's detail.
//
// Amend: the same dialog, only qty, limit, urgency and end editable; POST /api/orders/<id>/amend/ with
// what changed; the server checks the pre-trade limits then.
//
// Decimals stay strings: lot and tick checks are exact, on integers scaled by a power of ten (BigInt),
// never on binary floats. Every piece of data reaches the page through textContent, never as HTML.
"use strict";
window.Ticket = (function () {
  const dialog = document.getElementById("ticket");
  if (!dialog) return { open() {}, amend() {} }; // a page without the ticket
  const { qty: fmtQty, px: fmtPx, el } = window.fmt;
  const { request: api, problem } = window.api;

  const CHECK_MS = 300; // the pre-trade check waits for this pause in typing
  const SEARCH_MS = 120;
  const FIELDS = ["portfolio", "instrument", "side", "qty", "ord_type", "limit_px", "tif", "urgency", "strategy",
    "strategy_params", "start_at", "end_at"];
  const AMENDABLE = ["qty", "limit_px", "urgency", "end_at"];
  // The pre-trade checks' codes (oms.core.risk.RiskCode): a failure with one of these goes to the results list.
  const RISK_CODES = new Set(["KILL_SWITCH", "RESTRICTED", "MAX_QTY", "MAX_NOTIONAL", "NO_REFERENCE_PRICE",
    "PRICE_COLLAR", "CREDIT_LIMIT", "POSITION_LIMIT", "DAILY_NOTIONAL", "THROTTLE", "DUPLICATE"]);

  const form = document.getElementById("ticket-form");
  const title = document.getElementById("ticket-title");
  const subtitle = document.getElementById("ticket-subtitle");
  const portfolioSelect = document.getElementById("ticket-portfolio");
  const instrumentInput = document.getElementById("ticket-instrument");
  const suggestions = document.getElementById("ticket-suggestions");
  const instrumentInfo = document.getElementById("ticket-instrument-info");
  const sideButtons = [...dialog.querySelectorAll(".tk-side")];
  const qtyInput = document.getElementById("ticket-qty");
  const ordTypeSelect = document.getElementById("ticket-ord_type");
  const limitInput = document.getElementById("ticket-limit_px");
  const tifSelect = document.getElementById("ticket-tif");
  const urgencySelect = document.getElementById("ticket-urgency");
  const strategySelect = document.getElementById("ticket-strategy");
  const paramsBox = document.getElementById("ticket-params");
  const paramsLegend = document.getElementById("ticket-params-legend");
  const paramList = document.getElementById("ticket-param-list");
  const startInput = document.getElementById("ticket-start_at");
  const endInput = document.getElementById("ticket-end_at");
  const checkState = document.getElementById("ticket-check-state");
  const notionalOut = document.getElementById("ticket-notional");
  const referenceOut = document.getElementById("ticket-reference");
  const checkList = document.getElementById("ticket-checks");
  const dupBox = document.getElementById("ticket-dup");
  const dupInput = document.getElementById("ticket-allow_duplicate");
  const generalError = document.getElementById("ticket-err-general");
  const clOrdIdOut = document.getElementById("ticket-clordid");
  const sendButton = document.getElementById("ticket-send");

  const state = {
    mode: "new", // "new" | "amend"
    order: null, // amend: the order being amended
    instrument: null, // the picked instrument, as the API gives it (tick_size, lot_size, ...)
    side: "BUY",
    clOrdId: "",
    touched: new Set(), // fields the trader has changed: their errors show as they type
    showAll: false, // a send was tried: every error shows
    serverErrors: {}, // field -> reasons from the last check or send, until that field changes
    strategies: null, // GET /api/strategies/, once
    dealers: null, // GET /api/dealers/, once (the RFQ's parameter)
    portfolios: null,
    lastPortfolio: "",
    params: new Map(), // the shown strategy's parameters: name -> {spec, input, error}
    returnFocus: null,
    initialEnd: "", // amend: the end as first shown (to the minute): sent only when the trader changed it
    sending: false,
    sendQueued: null, // Enter while the check ran: send once the check of these terms passes
  };
  const check = { timer: null, controller: null, seq: 0, key: null, result: null, status: "idle", message: "" };
  const search = { timer: null, seq: 0, items: [], active: -1 };

  // ---- exact decimals -------------------------------------------------------
  // "101.25" -> {units: 10125n, scale: 2}; scaled to a common power of ten, two decimals compare and
  // divide exactly. Only plain decimal text is taken: no exponent, no thousands separator.

  const DECIMAL = /^-?(\d+\.?\d*|\.\d+)$/;
  function parseDec(text) {
    const value = String(text == null ? "" : text).trim();
    if (!DECIMAL.test(value)) return null;
    const negative = value.startsWith("-");
    const [whole, frac = ""] = value.replace("-", "").split(".");
    return { units: BigInt((negative ? "-" : "") + ((whole || "0") + frac)), scale: frac.length };
  }
  function rescale(d, scale) { return d.units * 10n ** BigInt(scale - d.scale); }
  function decCmp(a, b) {
    const scale = Math.max(a.scale, b.scale);
    const x = rescale(a, scale), y = rescale(b, scale);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  function isMultiple(value, step) {
    if (step.units === 0n) return true;
    const scale = Math.max(value.scale, step.scale);
    return rescale(value, scale) % rescale(step, scale) === 0n;
  }
  // The text as the API should get it: "1." -> "1", ".5" -> "0.5", "007" -> "7"; the digits the trader typed kept.
  function canon(text) {
    const d = parseDec(text);
    if (!d) return String(text).trim();
    const negative = d.units < 0n;
    const digits = (negative ? -d.units : d.units).toString().padStart(d.scale + 1, "0");
    const body = d.scale ? digits.slice(0, -d.scale) + "." + digits.slice(-d.scale) : digits;
    return (negative ? "-" : "") + body;
  }
  // For reading only: a decimal string with thousands separators and no trailing zeros past the point.
  function grouped(text) {
    if (text == null || text === "") return "";
    const [whole, frac] = fmtQty(String(text)).split(".");
    const sign = whole.startsWith("-") ? "-" : "";
    const digits = whole.replace("-", "").replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return sign + digits + (frac ? "." + frac : "");
  }
  function money(text) {
    if (text == null || text === "") return "—";
    const shown = fmtPx(String(text));
    const [whole, frac] = shown.split(".");
    return grouped(whole) + "." + frac;
  }

  function pageOf(body) {
    if (Array.isArray(body)) return body;
    return body && Array.isArray(body.results) ? body.results : [];
  }

  // ---- small helpers --------------------------------------------------------

  function setText(node, text) {
    const value = text == null ? "" : String(text);
    if (node.textContent !== value) node.textContent = value;
  }
  function words(code) { return String(code || "").replaceAll("_", " ").toLowerCase(); }
  function newClOrdId() {
    const stamp = new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15); // 20260101-093000
    const random = new Uint8Array(3);
    window.crypto.getRandomValues(random);
    return "tkt-" + stamp + "-" + [...random].map((b) => b.toString(16).padStart(2, "0")).join("");
  }
  // A datetime-local value ("2026-01-02T09:30"), read in this browser's time zone, as ISO 8601.
  function localToIso(value) {
    if (!value) return null;
    const at = new Date(value);
    return Number.isNaN(at.getTime()) ? undefined : at.toISOString();
  }
  function isoToLocal(iso) {
    const at = iso ? new Date(iso) : null;
    if (!at || Number.isNaN(at.getTime())) return "";
    const two = (n) => String(n).padStart(2, "0");
    return at.getFullYear() + "-" + two(at.getMonth() + 1) + "-" + two(at.getDate()) + "T" + two(at.getHours()) + ":"
      + two(at.getMinutes()); // the inputs take minutes
  }

  // ---- reference data -------------------------------------------------------

  // Fetched once per page; the select is filled again at each open (an amend shows only its order's).
  async function loadPortfolios() {
    if (!state.portfolios) {
      const answer = await api("GET", "/api/portfolios/?limit=200").catch(() => null);
      if (!answer || !answer.ok) {
        const failed = el("option", null, "portfolios not loaded: close and open the ticket again");
        failed.value = "";
        portfolioSelect.replaceChildren(failed);
        return;
      }
      state.portfolios = pageOf(answer.body);
    }
    const options = state.portfolios.map((p) => {
      const option = el("option", null, p.code + (p.name ? " · " + p.name : ""));
      option.value = p.code;
      return option;
    });
    const none = el("option", null, state.portfolios.length ? "pick a portfolio" : "no portfolio you may trade");
    none.value = "";
    portfolioSelect.replaceChildren(none, ...options);
  }

  async function loadStrategies() {
    if (!state.strategies) {
      const answer = await api("GET", "/api/strategies/").catch(() => null);
      if (!answer || !answer.ok) {
        state.serverErrors.strategy = ["strategies not loaded: only Auto can be sent"];
        return;
      }
      state.strategies = pageOf(answer.body);
    }
    const auto = el("option", null, "Auto: the EMS chooses");
    auto.value = "";
    strategySelect.replaceChildren(auto, ...state.strategies.map((s) => {
      const option = el("option", null, s.name + (s.scheduled ? " (scheduled)" : ""));
      option.value = s.name;
      return option;
    }));
  }

  async function loadDealers(select) {
    if (!state.dealers) {
      const answer = await api("GET", "/api/dealers/").catch(() => null);
      if (!answer || !answer.ok) {
        select.replaceChildren(el("option", null, "dealers not loaded: the desk chooses"));
        select.disabled = true;
        return;
      }
      state.dealers = pageOf(answer.body).slice().sort((a, b) => (a.rank ?? 1e9) - (b.rank ?? 1e9));
    }
    const chosen = new Set([...select.selectedOptions].map((o) => o.value));
    select.replaceChildren(...state.dealers.map((d) => {
      const option = el("option", null, d.code + (d.name ? " · " + d.name : "") + (d.rank != null ? "  #" + d.rank : ""));
      option.value = d.code;
      option.selected = chosen.has(d.code);
      option.title = [d.summary || "", "covers " + (d.covers || []).join(", ")].filter(Boolean).join(" · ");
      return option;
    }));
    select.size = Math.min(5, Math.max(2, state.dealers.length));
  }

  // ---- the instrument combobox ----------------------------------------------

  function instrumentText(inst) {
    return [inst.name, inst.asset_class, "tick " + fmtQty(String(inst.tick_size)), "lot " + fmtQty(String(inst.lot_size)),
      inst.ref_px != null ? "ref " + fmtPx(String(inst.ref_px)) : ""].filter(Boolean).join(" · ");
  }

  function pick(inst) {
    state.instrument = inst;
    instrumentInput.value = inst.symbol;
    setText(instrumentInfo, instrumentText(inst));
    closeSuggestions();
    changed("instrument");
  }

  function closeSuggestions() {
    suggestions.hidden = true;
    instrumentInput.setAttribute("aria-expanded", "false");
    instrumentInput.removeAttribute("aria-activedescendant");
    search.active = -1;
  }

  function showSuggestions(items) {
    search.items = items;
    search.active = items.length ? 0 : -1;
    if (!items.length) {
      suggestions.replaceChildren(el("li", "tk-none", "no active instrument starts with that"));
    } else {
      suggestions.replaceChildren(...items.map((inst, i) => {
        const li = el("li", "tk-option");
        li.id = "ticket-opt-" + i;
        li.setAttribute("role", "option");
        li.dataset.index = String(i);
        li.append(el("b", "tk-sym", inst.symbol), el("span", "tk-name", inst.name || ""),
          el("span", "tk-class", inst.asset_class || ""),
          el("span", "tk-steps", "tick " + fmtQty(String(inst.tick_size)) + " · lot " + fmtQty(String(inst.lot_size))));
        return li;
      }));
    }
    suggestions.hidden = false;
    instrumentInput.setAttribute("aria-expanded", "true");
    highlight(search.active);
  }

  function highlight(index) {
    search.active = index;
    [...suggestions.querySelectorAll(".tk-option")].forEach((li, i) => {
      li.setAttribute("aria-selected", i === index ? "true" : "false");
      if (i === index) li.scrollIntoView({ block: "nearest" });
    });
    if (index >= 0) instrumentInput.setAttribute("aria-activedescendant", "ticket-opt-" + index);
    else instrumentInput.removeAttribute("aria-activedescendant");
  }

  async function runSearch(prefix) {
    const seq = ++search.seq;
    const url = "/api/instruments/?active=true&limit=20&search=" + encodeURIComponent(prefix);
    const answer = await api("GET", url).catch(() => null);
    if (seq !== search.seq || document.activeElement !== instrumentInput) return; // a newer search, or the trader left
    if (!answer || !answer.ok) {
      suggestions.replaceChildren(el("li", "tk-none error", "search failed: " + (answer ? "HTTP " + answer.status : "no answer")));
      suggestions.hidden = false;
      return;
    }
    showSuggestions(pageOf(answer.body));
  }

  // The instrument whose symbol is exactly this text (any case), among the suggestions or by asking.
  async function resolveSymbol(symbol) {
    const wanted = String(symbol || "").trim().toUpperCase();
    if (!wanted) return null;
    const known = search.items.find((i) => i.symbol.toUpperCase() === wanted);
    if (known) return known;
    const answer = await api("GET", "/api/instruments/?limit=50&search=" + encodeURIComponent(wanted)).catch(() => null);
    if (!answer || !answer.ok) return null;
    return pageOf(answer.body).find((i) => i.symbol.toUpperCase() === wanted) || null;
  }

  instrumentInput.addEventListener("input", () => {
    const text = instrumentInput.value.trim();
    if (state.instrument && state.instrument.symbol !== text) {
      state.instrument = null;
      setText(instrumentInfo, "");
    }
    changed("instrument", false); // a prefix being typed is not an error yet: it shows once the field is left
    clearTimeout(search.timer);
    if (!text) { closeSuggestions(); return; }
    search.timer = setTimeout(() => runSearch(text), SEARCH_MS);
  });

  instrumentInput.addEventListener("keydown", (event) => {
    const open = !suggestions.hidden && search.items.length > 0;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!open) {
        if (instrumentInput.value.trim()) runSearch(instrumentInput.value.trim());
        return;
      }
      const step = event.key === "ArrowDown" ? 1 : -1;
      highlight((search.active + step + search.items.length) % search.items.length);
    } else if (event.key === "Enter") {
      if (!suggestions.hidden) {
        event.preventDefault(); // Enter picks; it sends only once the list is closed
        const typed = instrumentInput.value.trim().toUpperCase();
        const exact = search.items.find((i) => i.symbol.toUpperCase() === typed);
        const chosen = search.items[search.active] || exact;
        if (chosen) pick(chosen);
      }
    } else if (event.key === "Escape") {
      if (!suggestions.hidden) {
        event.preventDefault(); // closes the list, not the dialog
        event.stopPropagation();
        closeSuggestions();
      }
    }
  });

  suggestions.addEventListener("mousedown", (event) => {
    const li = event.target.closest(".tk-option");
    if (!li) return;
    event.preventDefault(); // keep the focus in the input
    pick(search.items[Number(li.dataset.index)]);
  });

  instrumentInput.addEventListener("blur", async () => {
    setTimeout(closeSuggestions, 0);
    if (!dialog.open) return; // closed with the focus here
    state.touched.add("instrument");
    if (!state.instrument && instrumentInput.value.trim()) {
      const typed = instrumentInput.value.trim();
      const found = await resolveSymbol(typed);
      if (found && !state.instrument && instrumentInput.value.trim() === typed) pick(found);
    }
    render();
  });

  // ---- strategy parameters --------------------------------------------------

  // The bounds the server applies (ems.core.algos._parse): a kind's own when the spec sets none.
  function bounds(spec) {
    const low = spec.minimum != null ? spec.minimum : spec.kind === "int" || spec.kind === "fraction" ? "0" : null;
    const high = spec.maximum != null ? spec.maximum : spec.kind === "fraction" ? "1" : null;
    return [low, high];
  }

  function paramHint(spec) {
    const notes = [];
    const [low, high] = bounds(spec);
    if (low != null && high != null) notes.push(fmtQty(String(low)) + " to " + fmtQty(String(high)));
    else if (low != null) notes.push("at least " + fmtQty(String(low)));
    else if (high != null) notes.push("at most " + fmtQty(String(high)));
    if (spec.kind === "fraction") notes.push("a share: 0.1 is 10%");
    if (spec.kind === "price") notes.push("on the tick");
    if (spec.kind === "qty") notes.push("a multiple of the lot");
    if (spec.kind === "int") notes.push("whole");
    return spec.help + (notes.length ? " (" + notes.join("; ") + ")" : "");
  }

  function renderParams() {
    const name = strategySelect.value;
    const strategy = (state.strategies || []).find((s) => s.name === name);
    state.params.clear();
    paramList.replaceChildren();
    paramsBox.hidden = !strategy || !strategy.params.length;
    if (!strategy) return;
    setText(paramsLegend, strategy.name + " parameters");
    strategy.params.forEach((spec) => {
      const id = "ticket-param-" + spec.name;
      const box = el("div", "tk-param tk-param-" + spec.kind);
      const label = el("label", null, words(spec.name));
      label.htmlFor = id;
      const help = el("p", "tk-param-help dim", paramHint(spec));
      help.id = id + "-help";
      const error = el("p", "field-error");
      error.id = "ticket-err-param-" + spec.name;
      error.hidden = true;
      let input;
      if (spec.kind === "bool") {
        input = el("input");
        input.type = "checkbox";
        input.checked = Boolean(spec.default);
        box.classList.add("tk-param-check");
        box.append(input, label);
      } else if (spec.kind === "codes") {
        input = el("select");
        input.multiple = true;
        input.append(el("option", null, "loading dealers…"));
        loadDealers(input);
        box.append(label, input);
        help.textContent = spec.help + " (Ctrl or ⌘ + click picks several)";
      } else {
        input = el("input");
        input.type = "text";
        input.inputMode = spec.kind === "int" ? "numeric" : "decimal";
        input.autocomplete = "off";
        input.placeholder = spec.default == null ? "none" : fmtQty(String(spec.default));
        box.append(label, input);
      }
      input.id = id;
      input.name = "param:" + spec.name;
      input.setAttribute("aria-describedby", help.id + " " + error.id);
      box.append(help, error);
      paramList.append(box);
      state.params.set(spec.name, { spec, input, error });
    });
  }

  // Check one parameter here as the server will (ems.core.algos._parse); return [value to send or undefined, reasons].
  function readParam(spec, input) {
    if (spec.kind === "bool") return [input.checked === Boolean(spec.default) ? undefined : input.checked, []];
    if (spec.kind === "codes") {
      const codes = [...input.selectedOptions].map((o) => o.value).filter(Boolean);
      return [codes.length ? codes : undefined, []];
    }
    const text = input.value.trim();
    if (text === "") return [undefined, []];
    const value = parseDec(text);
    if (spec.kind === "int" ? !/^\d+$/.test(text) : !value) {
      return [undefined, [(spec.kind === "int" ? "a whole number" : "a number") + ", was \"" + text + "\""]];
    }
    if ((spec.kind === "price" || spec.kind === "qty") && value.units <= 0n) return [undefined, ["must be positive, was " + text]];
    const [low, high] = bounds(spec);
    if (low != null && decCmp(value, parseDec(low)) < 0) return [undefined, ["must be at least " + fmtQty(String(low)) + ", was " + text]];
    if (high != null && decCmp(value, parseDec(high)) > 0) return [undefined, ["must be at most " + fmtQty(String(high)) + ", was " + text]];
    const inst = state.instrument;
    if (inst && spec.kind === "price" && !isMultiple(value, parseDec(inst.tick_size))) {
      return [undefined, [text + " is not on the tick " + fmtQty(String(inst.tick_size))]];
    }
    if (inst && spec.kind === "qty" && !isMultiple(value, parseDec(inst.lot_size))) {
      return [undefined, [text + " is not a multiple of the lot " + fmtQty(String(inst.lot_size))]];
    }
    return [canon(text), []];
  }

  // ---- reading and checking the form ----------------------------------------

  function lotError(text, inst, label) {
    const value = parseDec(text);
    if (!value || value.units < 0n) return label + " must be a number like 100 or 12.5, was \"" + text + "\"";
    if (value.units === 0n) return label + " must be greater than 0";
    if (inst && !isMultiple(value, parseDec(inst.lot_size))) return label + " must be a multiple of the lot size " + fmtQty(String(inst.lot_size));
    return null;
  }
  function tickError(text, inst) {
    const value = parseDec(text);
    if (!value || value.units < 0n) return "the limit must be a price like 101.25, was \"" + text + "\"";
    if (value.units === 0n) return "the limit must be greater than 0";
    if (inst && !isMultiple(value, parseDec(inst.tick_size))) return "the limit must be on the tick " + fmtQty(String(inst.tick_size));
    return null;
  }

  // Return {errors: {field: [reasons]}, body}: the body to check or send, null while anything is wrong.
  function read() {
    const errors = {};
    const add = (field, reason) => { (errors[field] = errors[field] || []).push(reason); };
    const inst = state.instrument;
    const qtyText = qtyInput.value.trim();
    const limitText = limitInput.value.trim();
    const limit = ordTypeSelect.value === "LIMIT";
    if (state.mode === "amend") return readAmend(errors, add, qtyText, limitText);

    if (!portfolioSelect.value) add("portfolio", "pick a portfolio");
    if (!inst) add("instrument", instrumentInput.value.trim() ? "pick an instrument from the list (↓ then Enter)" : "an instrument is required");
    if (!qtyText) add("qty", "a quantity is required");
    else {
      const problemText = lotError(qtyText, inst, "qty");
      if (problemText) add("qty", problemText);
    }
    if (limit) {
      if (!limitText) add("limit_px", "a LIMIT order needs a limit price");
      else {
        const problemText = tickError(limitText, inst);
        if (problemText) add("limit_px", problemText);
      }
    }
    const params = {};
    state.params.forEach(({ spec, input }, name) => {
      const [value, reasons] = readParam(spec, input);
      reasons.forEach((reason) => add("strategy_params." + name, reason));
      if (value !== undefined) params[name] = value;
    });
    const startAt = localToIso(startInput.value);
    const endAt = localToIso(endInput.value);
    if (startAt === undefined) add("start_at", "not a date and time");
    if (endAt === undefined) add("end_at", "not a date and time");
    if (endAt) {
      if (Date.parse(endAt) <= Date.now()) add("end_at", "the end must be in the future");
      else if (startAt && Date.parse(endAt) <= Date.parse(startAt)) add("end_at", "the end must be after the start");
    }
    if (Object.keys(errors).length) return { errors, body: null };
    const body = {
      cl_ord_id: state.clOrdId,
      portfolio: portfolioSelect.value,
      instrument: inst.symbol,
      side: state.side,
      ord_type: ordTypeSelect.value,
      qty: canon(qtyText),
      limit_px: limit ? canon(limitText) : null,
      tif: tifSelect.value,
      urgency: urgencySelect.value,
      strategy: strategySelect.value,
      strategy_params: params,
      start_at: startAt || null,
      end_at: endAt || null,
    };
    if (dupInput.checked) body.allow_duplicate = true;
    return { errors, body };
  }

  function readAmend(errors, add, qtyText, limitText) {
    const order = state.order;
    const inst = state.instrument;
    const changes = {};
    if (!qtyText) add("qty", "a quantity is required");
    else {
      const problemText = lotError(qtyText, inst, "qty");
      if (problemText) add("qty", problemText);
      else if (decCmp(parseDec(qtyText), parseDec(order.filled_qty || "0")) <= 0) {
        add("qty", "qty must be above the " + fmtQty(String(order.filled_qty)) + " already filled");
      } else if (decCmp(parseDec(qtyText), parseDec(order.qty)) !== 0) changes.qty = canon(qtyText);
    }
    if (order.ord_type === "LIMIT") {
      if (!limitText) add("limit_px", "a LIMIT order needs a limit price");
      else {
        const problemText = tickError(limitText, inst);
        if (problemText) add("limit_px", problemText);
        else if (order.limit_px == null || decCmp(parseDec(limitText), parseDec(order.limit_px)) !== 0) changes.limit_px = canon(limitText);
      }
    }
    if (urgencySelect.value !== order.urgency) changes.urgency = urgencySelect.value;
    if (endInput.value !== state.initialEnd) {
      const endAt = localToIso(endInput.value);
      if (endAt === undefined) add("end_at", "not a date and time");
      else if (endAt === null) add("end_at", "an amend cannot remove the end: give a new one");
      else if (Date.parse(endAt) <= Date.now()) add("end_at", "the end must be in the future");
      else changes.end_at = endAt;
    }
    return { errors, body: Object.keys(errors).length ? null : changes };
  }

  // ---- showing errors -------------------------------------------------------

  function controlFor(field) {
    if (field.startsWith("strategy_params.")) {
      const param = state.params.get(field.slice("strategy_params.".length));
      return param ? param.input : null;
    }
    if (field === "side") return sideButtons[0];
    return form.elements.namedItem(field) || null;
  }
  function slotFor(field) {
    if (field.startsWith("strategy_params.")) {
      const param = state.params.get(field.slice("strategy_params.".length));
      return param ? param.error : null;
    }
    return document.getElementById("ticket-err-" + field);
  }
  function setFieldError(field, reasons) {
    const slot = slotFor(field);
    if (!slot) return false;
    const text = reasons && reasons.length ? reasons.join(" ") : "";
    slot.hidden = !text;
    setText(slot, text);
    const control = controlFor(field);
    if (control && control.setAttribute) {
      if (text) control.setAttribute("aria-invalid", "true");
      else control.removeAttribute("aria-invalid");
    }
    return true;
  }

  function allFields() {
    return [...FIELDS, ...[...state.params.keys()].map((name) => "strategy_params." + name)];
  }

  // Each field's own error (once touched, or after a send was tried), else what the server said of it.
  function showErrors(local) {
    allFields().forEach((field) => {
      const mine = state.showAll || state.touched.has(field) ? local[field] : null;
      setFieldError(field, mine || state.serverErrors[field] || null);
    });
  }

  function say(text) {
    generalError.hidden = !text;
    setText(generalError, text || "");
  }

  // ---- the pre-trade check --------------------------------------------------

  function renderCheck() {
    if (state.mode === "amend") {
      setText(notionalOut, "—");
      setText(referenceOut, state.instrument && state.instrument.ref_px != null ? money(state.instrument.ref_px) : "—");
      const refusedBy = check.result ? check.result.checks : []; // the last amend's refusal, if any
      checkList.replaceChildren(el("li", "tk-check-note dim",
        "A new size or limit is checked against the pre-trade limits when the amend is sent."),
      ...refusedBy.map((o) => checkItem(o.passed, o.check, o.value, o.limit, o.message)));
      setText(checkState, refusedBy.length ? "failed" : "");
      checkState.className = "tk-check-state" + (refusedBy.length ? " fail" : "");
      dupBox.hidden = true;
      return;
    }
    const result = check.result;
    const stateText = {
      idle: "complete the order to check it",
      waiting: "checking…",
      running: "checking…",
      done: result ? (result.ok ? "passed" : "failed") : "",
      invalid: "not checked: fix the order",
      error: check.message,
    }[check.status] || "";
    setText(checkState, stateText);
    checkState.className = "tk-check-state " + (check.status === "done" && result ? (result.ok ? "pass" : "fail") : check.status);
    const currency = state.instrument && state.instrument.currency ? " " + state.instrument.currency : "";
    setText(notionalOut, result && result.notional != null ? money(result.notional) + currency : "—");
    setText(referenceOut, result && result.reference_px != null ? money(result.reference_px) : "—");
    const items = [];
    if (result) {
      result.checks.forEach((outcome) => items.push(checkItem(outcome.passed, outcome.check, outcome.value, outcome.limit, outcome.message)));
      // the order's own terms the server refused (tick, lot, strategy): under their fields when they have one
      result.errors.filter((e) => !RISK_CODES.has(e.code) && !slotFor(e.field)).forEach((e) => {
        items.push(checkItem(false, e.code, "", "", (e.field === "non_field_errors" ? "" : words(e.field) + ": ") + e.message));
      });
    }
    checkList.replaceChildren(...items);
    const duplicate = Boolean(result && result.errors.some((e) => e.code === "DUPLICATE"));
    dupBox.hidden = !(duplicate || dupInput.checked);
  }

  function checkItem(passed, code, value, limit, message) {
    const li = el("li", "tk-outcome " + (passed ? "pass" : "fail"));
    const mark = el("span", "tk-mark", passed ? "✓" : "✗");
    mark.setAttribute("aria-hidden", "true");
    const head = el("span", "tk-outcome-head");
    head.append(el("span", "visually-hidden", passed ? "passed: " : "failed: "), el("b", null, words(code)));
    if (value !== "" && value != null && limit !== "" && limit != null) {
      head.append(" ", el("span", "tk-vs", grouped(value) + (passed ? " ≤ " : " > ") + grouped(limit)));
    }
    li.append(mark, head, el("span", "tk-outcome-msg", message || ""));
    return li;
  }

  function scheduleCheck() {
    if (!dialog.open) return;
    if (state.mode === "amend") { check.result = null; return; } // the server checks an amend when it is sent
    const { body } = read();
    clearTimeout(check.timer);
    if (!body) {
      if (check.controller) check.controller.abort();
      check.key = null;
      check.result = null;
      check.status = "invalid";
      if (!state.instrument && !qtyInput.value.trim()) check.status = "idle";
      return;
    }
    const key = JSON.stringify(body);
    if (key === check.key && (check.status === "done" || check.status === "running")) return; // these terms are checked
    if (check.controller) check.controller.abort();
    check.key = key;
    check.result = null;
    check.status = "waiting";
    check.timer = setTimeout(() => runCheck(key, body), CHECK_MS);
  }

  async function runCheck(key, body) {
    const seq = ++check.seq;
    const controller = new AbortController();
    check.controller = controller;
    check.status = "running";
    render();
    let answer;
    try {
      answer = await api("POST", "/api/orders/check/", body, controller.signal);
    } catch (error) {
      if (seq !== check.seq || controller.signal.aborted) return;
      check.status = "error";
      check.message = "no answer from the check: retry by changing a field";
      check.key = null;
      render();
      return;
    }
    if (seq !== check.seq || key !== check.key) return; // the terms changed meanwhile
    check.controller = null;
    if (answer.ok && answer.body) {
      check.result = answer.body;
      check.status = "done";
      state.serverErrors = {};
      answer.body.errors.filter((e) => !RISK_CODES.has(e.code) && slotFor(e.field)).forEach((e) => {
        (state.serverErrors[e.field] = state.serverErrors[e.field] || []).push(e.message);
      });
    } else {
      const { message, fields } = problem(answer.status, answer.body);
      check.status = "error";
      check.message = answer.status === 400 ? "not checked: the server refused the form" : "not checked: " + message;
      check.key = answer.status === 400 ? key : null;
      state.serverErrors = {};
      const unplaced = [];
      Object.entries(answer.status === 400 ? fields : {}).forEach(([field, reasons]) => {
        if (slotFor(field)) state.serverErrors[field] = reasons;
        else unplaced.push((field === "non_field_errors" ? "" : words(field) + ": ") + reasons.join(" "));
      });
      if (answer.status !== 400) unplaced.push(message);
      say(unplaced.join(" "));
    }
    render();
    if (state.sendQueued === key) {
      state.sendQueued = null;
      if (check.result && check.result.ok) send();
    }
  }

  // ---- rendering the whole ticket -------------------------------------------

  function render() {
    const { errors } = read();
    showErrors(errors);
    renderCheck();
    renderSend(errors);
  }

  function renderSend(errors) {
    let label;
    let ready = false;
    const invalid = Object.keys(errors).length > 0;
    if (state.sending) label = state.mode === "amend" ? "Amending…" : "Sending…";
    else if (state.mode === "amend") {
      const { body } = read();
      const refusedAlready = Boolean(check.result); // these very changes were refused: change something first
      ready = !invalid && !refusedAlready && body && Object.keys(body).length > 0;
      label = invalid ? "Not ready" : refusedAlready ? "Refused" : ready ? "Amend" : "Nothing to amend";
    } else if (invalid) label = "Not ready";
    else if (check.status === "waiting" || check.status === "running") label = "Checking…";
    else if (check.status === "done" && check.result && check.result.ok && check.key === JSON.stringify(read().body)) {
      label = "Send";
      ready = true;
    } else if (check.status === "done") label = "Refused by check";
    else label = "Not checked";
    setText(sendButton, label);
    sendButton.setAttribute("aria-disabled", ready ? "false" : "true");
    sendButton.classList.toggle("ready", ready);
    sendButton.classList.toggle("tk-send-buy", ready && state.mode === "new" && state.side === "BUY");
    sendButton.classList.toggle("tk-send-sell", ready && state.mode === "new" && state.side === "SELL");
  }

  // A field changed: its own server error is stale, and the terms need checking again.
  function changed(field, touch = true) {
    if (touch) state.touched.add(field);
    delete state.serverErrors[field];
    if (field === "strategy" || field === "instrument") {
      Object.keys(state.serverErrors).filter((f) => f.startsWith("strategy_params")).forEach((f) => delete state.serverErrors[f]);
    }
    say("");
    scheduleCheck();
    render();
  }

  // ---- sending --------------------------------------------------------------

  function focusFirstError(errors) {
    const field = allFields().find((f) => errors[f] || state.serverErrors[f]);
    const control = field ? controlFor(field) : null;
    if (control && !control.disabled) control.focus();
  }

  async function send() {
    if (state.sending) return;
    const { errors, body } = read();
    if (!body) {
      state.showAll = true;
      render();
      focusFirstError(errors);
      return;
    }
    if (state.mode === "amend") {
      if (!Object.keys(body).length) { say("nothing to amend: change the qty, limit, urgency or end"); return; }
      return sendAmend(body);
    }
    const key = JSON.stringify(body);
    if (check.key !== key || check.status !== "done") {
      // Enter before the check answered: send once it passes; a change meanwhile cancels it
      state.sendQueued = key;
      if (check.key !== key || check.status === "error") { scheduleCheck(); }
      if (check.status === "waiting") { clearTimeout(check.timer); runCheck(key, body); }
      render();
      return;
    }
    if (!check.result.ok) {
      checkList.setAttribute("tabindex", "-1");
      checkList.focus();
      return;
    }
    state.sending = true;
    say("");
    render();
    let answer = null;
    try {
      answer = await api("POST", "/api/orders/", body);
    } catch (error) {
      say("No answer (" + (error.message || error) + "): the order may have been sent. Send again: this ticket's id "
        + state.clOrdId + " makes a resend return the same order, never a second one.");
    }
    state.sending = false;
    if (answer && (answer.status === 201 || answer.status === 200) && answer.body && answer.body.id != null) {
      done(answer.body.id);
      return;
    }
    if (answer) refused(answer);
    render();
  }

  async function sendAmend(changes) {
    state.sending = true;
    say("");
    render();
    let answer = null;
    try {
      answer = await api("POST", "/api/orders/" + encodeURIComponent(state.order.id) + "/amend/", changes);
    } catch (error) {
      say("No answer (" + (error.message || error) + "): see the order's detail for whether the amend was taken.");
    }
    state.sending = false;
    if (answer && answer.ok) {
      done(state.order.id);
      return;
    }
    if (answer) refused(answer);
    render();
  }

  // A 4xx: each field's reasons under the field, the pre-trade failures in the results, the rest on top.
  function refused(answer) {
    const { message, fields, details } = problem(answer.status, answer.body);
    state.serverErrors = {};
    const general = [];
    if (answer.status === 400) {
      const failures = [];
      const items = details || Object.entries(fields).flatMap(([field, reasons]) => reasons.map((m) => ({ field, code: "invalid", message: m })));
      items.forEach((item) => {
        if (RISK_CODES.has(item.code)) failures.push(item);
        else if (slotFor(item.field)) (state.serverErrors[item.field] = state.serverErrors[item.field] || []).push(item.message);
        else general.push((item.field === "non_field_errors" ? "" : words(item.field) + ": ") + item.message);
      });
      if (failures.length) {
        check.key = null; // the check's verdict was overtaken: check again on the next change
        check.status = "done";
        check.result = { ok: false, errors: failures, reference_px: check.result ? check.result.reference_px : null,
          notional: check.result ? check.result.notional : null,
          checks: failures.map((f) => ({ check: f.code, passed: false, value: "", limit: "", message: f.message })) };
        general.push("Refused by the pre-trade checks: see the results.");
      }
      if (!general.length && !failures.length && !Object.keys(state.serverErrors).length) general.push(message);
    } else if (answer.status === 409) {
      general.push(message + (fields.cl_ord_id ? " (see the blotter: it holds the order first sent with this ticket)" : ""));
    } else {
      general.push("Not sent (HTTP " + answer.status + "): " + message);
    }
    say(general.join(" "));
    state.showAll = true;
    render();
    focusFirstError({});
  }

  function done(id) {
    close(false);
    document.dispatchEvent(new CustomEvent("blotter:open-order", { detail: { id } }));
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });

  // ---- the controls ---------------------------------------------------------

  function setSide(side) {
    state.side = side;
    sideButtons.forEach((b) => {
      b.setAttribute("aria-pressed", b.dataset.side === side ? "true" : "false");
      b.tabIndex = b.dataset.side === side ? 0 : -1; // one Tab stop; ← → switch
    });
    dialog.classList.toggle("tk-is-buy", side === "BUY");
    dialog.classList.toggle("tk-is-sell", side === "SELL");
  }
  sideButtons.forEach((button) => {
    button.addEventListener("click", () => {
      if (button.disabled) return;
      setSide(button.dataset.side);
      changed("side");
    });
    // ← → switch side, as in a radio group
    button.addEventListener("keydown", (event) => {
      if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
      event.preventDefault();
      const other = sideButtons.find((b) => b !== button);
      other.focus();
      other.click();
    });
  });

  function syncOrdType() {
    const market = ordTypeSelect.value === "MARKET";
    limitInput.disabled = market || (state.mode === "amend" && state.order && state.order.ord_type !== "LIMIT");
    limitInput.placeholder = market ? "market: no limit" : "";
  }
  ordTypeSelect.addEventListener("change", () => { syncOrdType(); changed("ord_type"); changed("limit_px"); });
  strategySelect.addEventListener("change", () => { renderParams(); changed("strategy"); });
  portfolioSelect.addEventListener("change", () => { state.lastPortfolio = portfolioSelect.value; changed("portfolio"); });
  [qtyInput, limitInput, startInput, endInput].forEach((input) => {
    input.addEventListener("input", () => changed(input.name));
    input.addEventListener("blur", () => { state.touched.add(input.name); render(); });
  });
  [tifSelect, urgencySelect].forEach((select) => select.addEventListener("change", () => changed(select.name)));
  dupInput.addEventListener("change", () => changed("allow_duplicate"));
  paramList.addEventListener("input", (event) => {
    if (event.target.name && event.target.name.startsWith("param:")) changed("strategy_params." + event.target.name.slice(6));
  });
  paramList.addEventListener("change", (event) => {
    if (event.target.name && event.target.name.startsWith("param:")) changed("strategy_params." + event.target.name.slice(6));
  });

  // ---- opening and closing --------------------------------------------------

  function reset(mode) {
    state.mode = mode;
    state.order = null;
    state.instrument = null;
    state.touched = new Set();
    state.showAll = false;
    state.serverErrors = {};
    state.sending = false;
    state.sendQueued = null;
    clearTimeout(check.timer);
    if (check.controller) check.controller.abort();
    Object.assign(check, { timer: null, controller: null, key: null, result: null, status: "idle", message: "" });
    check.seq += 1;
    form.reset();
    instrumentInput.value = "";
    setText(instrumentInfo, "");
    closeSuggestions();
    search.items = [];
    setSide("BUY");
    say("");
    dupBox.hidden = true;
    const amend = mode === "amend";
    [portfolioSelect, instrumentInput, ordTypeSelect, tifSelect, strategySelect, startInput, ...sideButtons]
      .forEach((control) => { control.disabled = amend; });
    dialog.classList.toggle("tk-amend", amend);
    if (!amend) {
      strategySelect.value = "";
      renderParams();
    } else {
      state.params.clear();
      paramList.replaceChildren();
      paramsBox.hidden = true;
    }
  }

  function show() {
    if (!dialog.open) {
      state.returnFocus = document.activeElement;
      if (typeof dialog.showModal === "function") dialog.showModal(); else dialog.setAttribute("open", "");
    }
  }

  function close(restoreFocus) {
    clearTimeout(check.timer);
    clearTimeout(search.timer);
    if (check.controller) check.controller.abort();
    check.seq += 1;
    state.sendQueued = null;
    if (dialog.open) { if (typeof dialog.close === "function") dialog.close(); else dialog.removeAttribute("open"); }
    if (restoreFocus && state.returnFocus && document.contains(state.returnFocus)) state.returnFocus.focus();
    state.returnFocus = null;
  }

  async function open(prefill) {
    const given = prefill || {};
    reset("new");
    state.clOrdId = newClOrdId();
    setText(title, "New order");
    setText(subtitle, "");
    setText(clOrdIdOut, state.clOrdId);
    if (given.side === "SELL" || given.side === "BUY") setSide(given.side);
    if (given.qty != null) qtyInput.value = String(given.qty);
    if (given.ord_type === "MARKET" || given.ord_type === "LIMIT") ordTypeSelect.value = given.ord_type;
    if (given.limit_px != null) limitInput.value = String(given.limit_px);
    if (given.tif) tifSelect.value = given.tif;
    if (given.urgency) urgencySelect.value = given.urgency;
    if (given.start_at) startInput.value = isoToLocal(given.start_at);
    if (given.end_at) endInput.value = isoToLocal(given.end_at);
    syncOrdType();
    const symbol = typeof given.instrument === "object" && given.instrument ? given.instrument.symbol : given.instrument;
    if (symbol) instrumentInput.value = String(symbol);
    show();
    instrumentInput.focus();
    if (symbol) instrumentInput.select();
    render();
    await Promise.all([loadPortfolios(), loadStrategies()]);
    if (!dialog.open || state.mode !== "new") return;
    const code = given.portfolio || state.lastPortfolio || (state.portfolios && state.portfolios.length === 1 ? state.portfolios[0].code : "");
    if (code && [...portfolioSelect.options].some((o) => o.value === code)) portfolioSelect.value = code;
    if (given.strategy && [...strategySelect.options].some((o) => o.value === String(given.strategy).toUpperCase())) {
      strategySelect.value = String(given.strategy).toUpperCase();
      renderParams();
      Object.entries(given.strategy_params || {}).forEach(([name, value]) => {
        const param = state.params.get(name);
        if (!param) return;
        if (param.spec.kind === "bool") param.input.checked = Boolean(value);
        else if (param.spec.kind !== "codes") param.input.value = String(value);
      });
    }
    if (symbol && !state.instrument) {
      const found = typeof given.instrument === "object" && given.instrument.tick_size ? given.instrument : await resolveSymbol(symbol);
      if (found && dialog.open && state.mode === "new" && instrumentInput.value.trim() === String(symbol)) {
        state.instrument = found;
        setText(instrumentInfo, instrumentText(found));
      }
    }
    scheduleCheck();
    render();
  }

  async function amend(order) {
    if (!order || order.id == null) return;
    reset("amend");
    state.order = order;
    state.clOrdId = "";
    setText(title, "Amend order #" + order.id);
    const filled = parseDec(order.filled_qty || "0");
    setText(subtitle, order.side + " " + fmtQty(String(order.qty)) + " " + order.instrument
      + (filled && filled.units !== 0n ? ", " + fmtQty(String(order.filled_qty)) + " filled" : ""));
    setText(clOrdIdOut, order.cl_ord_id ? order.cl_ord_id : "");
    const portfolioOption = el("option", null, order.portfolio);
    portfolioOption.value = order.portfolio;
    portfolioSelect.replaceChildren(portfolioOption);
    instrumentInput.value = order.instrument;
    setSide(order.side);
    qtyInput.value = fmtQty(String(order.qty));
    ordTypeSelect.value = order.ord_type;
    limitInput.value = order.limit_px != null ? String(order.limit_px).replace(/(\.\d*?)0+$/, "$1").replace(/\.$/, "") : "";
    tifSelect.value = order.tif;
    urgencySelect.value = order.urgency;
    const strategyOption = el("option", null, order.strategy ? order.strategy : "Auto: the EMS chooses");
    strategyOption.value = order.strategy || "";
    strategySelect.replaceChildren(strategyOption);
    startInput.value = isoToLocal(order.start_at);
    endInput.value = isoToLocal(order.end_at);
    state.initialEnd = endInput.value;
    syncOrdType();
    show();
    qtyInput.focus();
    qtyInput.select();
    render();
    const found = await resolveSymbol(order.instrument);
    if (found && dialog.open && state.mode === "amend" && state.order === order) {
      state.instrument = found;
      setText(instrumentInfo, instrumentText(found));
      render();
    }
  }

  document.getElementById("ticket-close").addEventListener("click", () => close(true));
  document.getElementById("ticket-cancel").addEventListener("click", () => close(true));
  dialog.addEventListener("cancel", (event) => { event.preventDefault(); close(true); }); // Esc
  // a click on the backdrop (outside the form) does not close it: a half-typed order is not lost by a stray click

  return { open, amend };
})();
