// The blotter's RFQ panel: one card per request for quote (a private auction among chosen dealers), its
// live quote ladder, click-to-trade on a quote, cancel, and the form that starts one from a working order.
// Data: GET /api/rfqs/?active=true on load and on every websocket (re)connect (static/blotter.js calls
// Rfq.onConnect), then {"type": "rfq", "rfq": {...}} messages from the blotter's socket (Rfq.onMessage);
// the higher `version` of an RFQ wins, so a slow reload never undoes a newer live message.
// Countdowns run on the server's clock: a snapshot says how long was left at its `as_of`.
// Ladder rows are updated in place (same element per quote), so focus and the hover stay where they were.
// Every piece of data reaches the page through textContent, never as HTML.
"use strict";
window.Rfq = (function () {
  const { qty, px, time, el } = window.fmt;
  const { request: api, problem } = window.api;
  const q = (v) => (v == null ? "" : qty(String(v)));
  const p = (v) => (v == null ? "" : px(String(v)));

  const TERMINAL = new Set(["FILLED", "CANCELLED", "EXPIRED", "FAILED"]);
  const WORKING_ORDER = new Set(["NEW", "PARTIALLY_FILLED"]); // an order the trader may ask quotes for
  const KEEP_ENDED_MS = 5 * 60 * 1000; // an ended RFQ stays on the panel, dimmed, this long
  const TICK_MS = 200;
  const SETTLE_MS = 300; // a row that just moved or changed price ignores a mouse click this long
  const SOON_MS = 5000;
  const DECIMAL = /^\d+(\.\d+)?$/;

  const list = document.getElementById("rfq-list");
  const empty = document.getElementById("rfq-empty");
  const count = document.getElementById("rfq-count");
  const notice = document.getElementById("rfq-notice");
  const cards = new Map(); // rfq id -> card (below)
  let ticker = null;

  // Write only what changed: a live update then costs no layout, and a screen reader hears no repeat.
  function setText(node, text) {
    const value = text == null ? "" : String(text);
    if (node.textContent !== value) node.textContent = value;
  }
  function setAttr(node, name, value) {
    if (value == null || value === false) {
      if (node.hasAttribute(name)) node.removeAttribute(name);
    } else if (node.getAttribute(name) !== String(value)) {
      node.setAttribute(name, String(value));
    }
  }
  function words(text) { return text ? String(text).replaceAll("_", " ").toLowerCase() : ""; }
  function isTerminal(rfq) { return TERMINAL.has(rfq.state); }

  // ---- the server's clock ---------------------------------------------------

  // The smallest (local - server) gap seen is the clocks' offset plus the fastest delivery so far: once
  // one quick message has come, a late snapshot (a slow reload, a queued message) cannot make a countdown
  // run long; and time here is measured on the monotonic clock, so a jump of this machine's clock changes nothing.
  const clock = {
    offset: null,
    local() { return performance.timeOrigin + performance.now(); },
    observe(asOf) {
      const server = Date.parse(asOf);
      if (Number.isNaN(server)) return;
      const gap = this.local() - server;
      if (this.offset == null || gap < this.offset) this.offset = gap;
    },
    now() { return this.local() - (this.offset == null ? 0 : this.offset); },
  };

  // When something ends, on the server's clock: `as_of` + the time left then; else the absolute time.
  function deadline(asOf, leftMs, absolute) {
    const base = Date.parse(asOf);
    if (leftMs != null && !Number.isNaN(base)) return base + Number(leftMs);
    const at = Date.parse(absolute);
    return Number.isNaN(at) ? null : at;
  }
  function left(ms) {
    if (ms <= 0) return "0.0 s";
    if (ms < 10000) return (Math.floor(ms / 100) / 10).toFixed(1) + " s";
    const s = Math.floor(ms / 1000);
    return s < 60 ? s + " s" : Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }

  function pageOf(body) {
    if (Array.isArray(body)) return body;
    return body && Array.isArray(body.results) ? body.results : [];
  }

  function say(text, isError) {
    setText(notice, text || "");
    notice.classList.toggle("error", Boolean(isError));
  }

  // ---- loading and live messages --------------------------------------------

  async function reload() {
    let answer;
    try {
      answer = await api("GET", "/api/rfqs/?active=true&limit=200");
    } catch (error) {
      say("RFQs not loaded: " + (error.message || error), true);
      return;
    }
    if (!answer.ok) {
      say("RFQs not loaded: HTTP " + answer.status + " " + problem(answer.status, answer.body).message, true);
      return;
    }
    if (notice.classList.contains("error")) say("");
    const seen = new Set();
    pageOf(answer.body).forEach((rfq) => { seen.add(rfq.id); upsert(rfq); });
    // Active here but not in the list: it ended while the socket was away; fetch how it ended.
    cards.forEach((card, id) => { if (!seen.has(id) && !isTerminal(card.rfq)) refetch(id); });
  }

  async function refetch(id) {
    try {
      const answer = await api("GET", "/api/rfqs/" + encodeURIComponent(id) + "/");
      if (answer.ok) upsert(answer.body);
      else if (answer.status === 404) remove(id);
    } catch (_) { /* the next reconnect tries again */ }
  }

  // The newer snapshot wins: by version, then by as_of.
  function isOlder(incoming, current) {
    if (typeof incoming.version === "number" && typeof current.version === "number" && incoming.version !== current.version) {
      return incoming.version < current.version;
    }
    return (Date.parse(incoming.as_of) || 0) < (Date.parse(current.as_of) || 0);
  }

  function upsert(rfq) {
    if (!rfq || rfq.id == null) return;
    clock.observe(rfq.as_of);
    let card = cards.get(rfq.id);
    if (card && isOlder(rfq, card.rfq)) return;
    if (!card) {
      card = createCard(rfq);
      cards.set(rfq.id, card);
      place(card.node, rfq.id);
    }
    card.rfq = rfq;
    if (isTerminal(rfq) && card.endedAt == null) card.endedAt = performance.now();
    render(card);
    panelChanged();
  }

  // Newest (highest id) first, whatever order they arrive in; a card never moves after (moving drops focus).
  function place(node, id) {
    const after = [...list.children].find((other) => Number(other.dataset.id) < id);
    list.insertBefore(node, after || null);
  }

  function remove(id) {
    const card = cards.get(id);
    if (!card) return;
    const hadFocus = card.node.contains(document.activeElement);
    const next = card.node.nextElementSibling || card.node.previousElementSibling;
    card.node.remove();
    cards.delete(id);
    if (hadFocus) {
      // the next card (focusable: tabindex -1), else the panel's heading
      const target = next || document.getElementById("rfqs-title");
      if (!target.hasAttribute("tabindex")) target.tabIndex = -1;
      target.focus({ preventScroll: true });
    }
    panelChanged();
  }

  function panelChanged() {
    let active = 0;
    cards.forEach((card) => { if (!isTerminal(card.rfq)) active += 1; });
    setText(count, active ? String(active) : "");
    empty.hidden = cards.size > 0;
    if (cards.size && ticker == null) ticker = setInterval(tick, TICK_MS);
    if (!cards.size && ticker != null) { clearInterval(ticker); ticker = null; }
  }

  // ---- a card ---------------------------------------------------------------

  // card: {rfq, node, refs, rows: Map(key -> tr), entries: Map(key -> ladder entry),
  //        activeKey, inflight: Set(key), cancelling, endedAt, signatures: {...}}
  function createCard(rfq) {
    const node = el("article", "rfq-card");
    node.dataset.id = rfq.id;
    node.tabIndex = -1; // focus lands here after the form creates it
    const titleId = "rfq-" + rfq.id + "-title";
    node.setAttribute("aria-labelledby", titleId);

    const head = el("header", "rfq-head");
    const title = el("h3", null);
    title.id = titleId;
    const side = el("span", "side");
    const size = el("b", "rfq-qty");
    const symbol = el("b", "rfq-symbol");
    title.append(side, " ", size, " ", symbol);
    const state = el("span", "rfq-state");
    const timer = el("span", "rfq-clock");
    timer.setAttribute("role", "timer");
    timer.setAttribute("aria-label", "time left");
    head.append(title, state, timer);

    const desc = el("div", "rfq-desc");
    const description = el("span", "rfq-description");
    const orderLink = el("button", "linkish rfq-order");
    orderLink.type = "button";
    orderLink.title = "open the order's detail";
    orderLink.addEventListener("click", () => {
      document.dispatchEvent(new CustomEvent("blotter:open-order", { detail: { id: card.rfq.order } }));
    });
    const meta = el("span", "dim rfq-meta");
    desc.append(description, " ", orderLink, " ", meta);

    const facts = el("dl", "kv rfq-facts");
    const fact = {};
    [["filled", "Filled"], ["avg", "Avg px"], ["mid", "Mid"], ["threshold", "Threshold"], ["terms", "Terms"]].forEach(([key, label]) => {
      facts.appendChild(el("dt", null, label));
      fact[key] = facts.appendChild(el("dd", null, "—"));
    });

    const dealers = el("p", "rfq-dealers");
    const hidden = el("p", "rfq-hidden warn");
    hidden.hidden = true;
    const grace = el("p", "rfq-grace dim");
    grace.hidden = true;

    const ladder = el("table", "grid compact rfq-ladder");
    const caption = el("caption", "visually-hidden", "Quotes for RFQ " + rfq.id + ", best first");
    ladder.appendChild(caption);
    const headRow = el("tr");
    [["#", "num"], ["Dealer"], ["You", null, "what a click does: buy (lift an offer) or sell (hit a bid)"], ["Px", "num"],
     ["Size", "num"], ["vs mid, bps", "num", "better than the mid for us: positive"], ["Left", "num", "the quote's time left"]]
      .forEach(([label, cls, tip]) => {
        const th = el("th", cls, label);
        th.scope = "col";
        if (tip) th.title = tip;
        headRow.appendChild(th);
      });
    ladder.appendChild(el("thead")).appendChild(headRow);
    const tbody = ladder.appendChild(el("tbody"));
    const noQuotes = el("p", "dim rfq-noquotes", "No quote yet.");

    const hits = el("ul", "rfq-hits");
    hits.hidden = true;
    const reason = el("p", "rfq-reason");
    reason.hidden = true;

    const controls = el("div", "rfq-controls");
    const qtyLabel = el("label", null, "Qty ");
    const qtyInput = el("input", "rfq-qty-input");
    qtyInput.type = "text";
    qtyInput.inputMode = "decimal";
    qtyInput.autocomplete = "off";
    qtyInput.placeholder = "all";
    qtyInput.size = 8;
    qtyInput.title = "how much a click trades; empty: all the quote, or all that is left";
    qtyLabel.appendChild(qtyInput);
    const cancel = el("button", "rfq-cancel", "Cancel RFQ");
    cancel.type = "button";
    const dismiss = el("button", "rfq-dismiss", "Dismiss");
    dismiss.type = "button";
    dismiss.hidden = true;
    controls.append(qtyLabel, cancel, dismiss);
    const result = el("p", "rfq-result");
    result.setAttribute("role", "status");
    result.setAttribute("aria-live", "polite");

    const log = el("details", "rfq-log");
    const logSummary = el("summary", null, "Log");
    const logBody = el("div");
    log.append(logSummary, logBody);

    // the qty before the ladder: set it, then pick a quote; the answer right under the ladder
    node.append(head, desc, facts, dealers, grace, hidden, controls, ladder, noQuotes, result, hits, reason, log);

    const card = {
      rfq, node, rows: new Map(), entries: new Map(), activeKey: null, inflight: new Set(), cancelling: false,
      endedAt: null, signatures: {},
      refs: { side, size, symbol, state, timer, description, orderLink, meta, fact, dealers, hidden, grace, tbody,
              noQuotes, hits, reason, qtyInput, cancel, dismiss, result, logSummary, logBody, ladder },
    };
    cancel.addEventListener("click", () => cancelRfq(card));
    dismiss.addEventListener("click", () => remove(card.rfq.id));
    qtyInput.addEventListener("input", () => qtyInput.removeAttribute("aria-invalid"));
    return card;
  }

  function render(card) {
    const r = card.rfq;
    const f = card.refs;
    const ended = isTerminal(r);
    card.node.className = "rfq-card state-" + String(r.state).toLowerCase() + " side-" + String(r.side).toLowerCase()
      + (ended ? " ended" : "");
    setAttr(card.node, "aria-busy", card.inflight.size || card.cancelling ? "true" : null);
    setText(f.side, r.side === "TWO_WAY" ? "TWO-WAY" : r.side);
    setText(f.size, q(r.qty));
    setText(f.symbol, r.symbol);
    setText(f.state, words(r.state));
    setText(f.description, r.description || "");
    setText(f.orderLink, "order #" + r.order);
    setText(f.meta, ["RFQ " + r.id, words(r.initiator) ? "by " + words(r.initiator) : "", r.opened_at ? "opened " + time(r.opened_at) : ""]
      .filter(Boolean).join(" · "));
    f.meta.title = r.quote_req_id ? "QuoteReqID " + r.quote_req_id : "";

    const filled = Number(r.filled_qty) > 0;
    setText(f.fact.filled, q(r.filled_qty) + " / " + q(r.qty));
    setText(f.fact.avg, filled ? p(r.avg_px) : "—");
    const ladderData = r.ladder || {};
    setText(f.fact.mid, ladderData.mid != null ? p(ladderData.mid) + (ladderData.mid_source ? " " + words(ladderData.mid_source) : "") : "—");
    setText(f.fact.threshold, r.threshold_px != null && r.threshold_px !== "" ? p(r.threshold_px) : "—");
    setText(f.fact.terms, [r.allow_partial ? "partial ok" : "all or none", r.anonymous ? "anonymous" : "named"].join(", "));

    renderDealers(card);
    const hiddenCount = Number(ladderData.hidden || 0);
    f.hidden.hidden = !(hiddenCount > 0) || ended;
    setText(f.hidden, "hidden: " + hiddenCount + (hiddenCount === 1 ? " quote" : " quotes") + " in the grace period");
    renderLadder(card);
    renderHits(card);

    f.reason.hidden = !ended;
    setText(f.reason, ended ? words(r.state) + (r.reason ? ": " + r.reason : "") : "");
    f.cancel.hidden = ended;
    setAttr(f.cancel, "aria-disabled", card.cancelling ? "true" : null);
    f.dismiss.hidden = !ended;
    f.qtyInput.disabled = ended && document.activeElement !== f.qtyInput;
    renderLog(card);
    tickCard(card);
  }

  // Each dealer asked: quoted, declined (and why) or still silent.
  function renderDealers(card) {
    const r = card.rfq;
    const quoted = new Set((r.quotes || []).map((x) => x.dealer));
    const declined = new Map((r.declines || []).map((d) => [d.dealer, d]));
    const asked = r.dealers || [];
    const signature = JSON.stringify([asked, [...quoted], [...declined.entries()]]);
    if (card.signatures.dealers === signature) return;
    card.signatures.dealers = signature;
    const parts = [el("span", "label", "Dealers ")];
    asked.forEach((code) => {
      const decline = declined.get(code);
      const chip = el("span", "dealer " + (decline ? "declined" : quoted.has(code) ? "quoted" : "waiting"), code);
      chip.title = decline
        ? "declined" + (decline.reason ? ": " + words(decline.reason) : "") + (decline.text ? " (" + decline.text + ")" : "")
        : quoted.has(code) ? "quoted" : "no answer yet";
      parts.push(chip);
    });
    if (!asked.length) parts.push(el("span", "dim", "none yet"));
    card.refs.dealers.replaceChildren(...parts);
  }

  // ---- the ladder -----------------------------------------------------------

  // The entries to show, best first: offers (we buy) then bids (we sell); a key per (side, quote).
  function ladderEntries(rfq) {
    const ladderData = rfq.ladder || {};
    const out = [];
    [["offers", "BUY"], ["bids", "SELL"]].forEach(([list_, action]) => {
      (ladderData[list_] || []).forEach((entry, i) => {
        out.push({ ...entry, action, rank: i + 1, key: action + ":" + entry.quote_id });
      });
    });
    return out;
  }

  function renderLadder(card) {
    const r = card.rfq;
    const tbody = card.refs.tbody;
    const entries = ladderEntries(r);
    const quoteStates = new Map((r.quotes || []).map((x) => [x.quote_id, x.state]));
    const wanted = new Set(entries.map((e) => e.key));
    const focused = tbody.contains(document.activeElement) ? document.activeElement : null;
    const focusedIndex = focused ? [...tbody.children].indexOf(focused) : -1;
    const oldIndex = new Map([...tbody.children].map((tr, i) => [tr, i]));

    // rows whose quote left the ladder go
    card.rows.forEach((tr, key) => {
      if (!wanted.has(key)) { tr.remove(); card.rows.delete(key); card.entries.delete(key); }
    });

    const now = performance.now();
    entries.forEach((entry) => {
      let tr = card.rows.get(entry.key);
      if (!tr) {
        tr = makeRow(entry);
        card.rows.set(entry.key, tr);
        tr.dataset.changedAt = String(now);
      }
      const before = card.entries.get(entry.key);
      if (before && (before.px !== entry.px || before.size !== entry.size)) tr.dataset.changedAt = String(now);
      entry.deadline = deadline(r.as_of, entry.time_left_ms, null);
      entry.quoteState = quoteStates.get(entry.quote_id) || "ACTIVE";
      card.entries.set(entry.key, entry);
      fillRow(card, tr, entry);
    });

    // put the rows in order, moving only those out of place (a moved row keeps its focus: restored below)
    let cursor = tbody.firstElementChild;
    entries.forEach((entry) => {
      const tr = card.rows.get(entry.key);
      if (tr === cursor) { cursor = cursor.nextElementSibling; return; }
      tbody.insertBefore(tr, cursor);
    });
    // a row now where another was (inserted, removed or reordered above it) is not what the pointer aimed at
    [...tbody.children].forEach((tr, i) => { if (oldIndex.get(tr) !== i) tr.dataset.changedAt = String(now); });

    if (focused && !focused.isConnected) {
      // the focused quote left: focus its neighbour, so the keyboard user is not thrown out of the ladder
      const rows = tbody.children;
      const next = rows[Math.min(focusedIndex, rows.length - 1)];
      if (next) { activate(card, next, true); } else { card.node.focus({ preventScroll: true }); }
    } else if (focused && document.activeElement !== focused) {
      focused.focus({ preventScroll: true });
    }
    ensureTabStop(card);
    card.refs.noQuotes.hidden = entries.length > 0;
    setText(card.refs.noQuotes, isTerminal(r) ? "No quote on the ladder." : "No quote yet.");
    card.refs.ladder.hidden = entries.length === 0;
  }

  function makeRow(entry) {
    const tr = el("tr", "quote side-" + entry.action.toLowerCase());
    tr.dataset.key = entry.key;
    tr.tabIndex = -1;
    ["num rank", "dealer", "side", "num px", "num size", "num bps", "num left"].forEach((cls) => tr.appendChild(el("td", cls)));
    return tr;
  }

  function fillRow(card, tr, entry) {
    const [rank, dealer, action, price, size, bps, _left] = tr.children;
    setText(rank, entry.rank);
    setText(dealer, entry.dealer);
    setText(action, entry.action);
    setText(price, p(entry.px));
    setText(size, q(entry.size));
    const improvement = entry.improvement_bps;
    setText(bps, improvement == null ? "—" : (Number(improvement) > 0 ? "+" : "") + p(improvement));
    bps.className = "num bps" + (improvement == null ? "" : Number(improvement) > 0 ? " good" : Number(improvement) < 0 ? " bad" : "");
    tr.classList.toggle("best", entry.rank === 1);
    const verb = entry.action === "BUY" ? "buy from " : "sell to ";
    const title = verb + entry.dealer + " at " + p(entry.px) + " (up to " + q(entry.size) + "): click or Enter";
    if (tr.title !== title) tr.title = title;
    rowState(card, tr, entry);
  }

  // Why a row takes no click now, or null when it does.
  function blocked(card, entry) {
    if (isTerminal(card.rfq)) return words(card.rfq.state);
    if (card.inflight.has(entry.key)) return "sending…";
    if (entry.quoteState === "PENDING") return "last look…";
    if (entry.quoteState && entry.quoteState !== "ACTIVE") return words(entry.quoteState);
    const pendingHit = (card.rfq.hits || []).some((h) => h.quote_id === entry.quote_id && h.accepted == null);
    if (pendingHit) return "last look…";
    if (entry.deadline != null && entry.deadline - clock.now() <= 0) return "expired";
    return null;
  }

  function rowState(card, tr, entry) {
    const why = blocked(card, entry);
    const timeLeft = tr.lastElementChild;
    if (why == null) {
      setText(timeLeft, entry.deadline == null ? "—" : left(entry.deadline - clock.now()));
    } else {
      setText(timeLeft, why === "expired" ? "expired" : why);
    }
    tr.classList.toggle("expired", why === "expired" || (why != null && isTerminal(card.rfq)));
    tr.classList.toggle("busy", why === "sending…" || why === "last look…");
    tr.classList.toggle("soon", why == null && entry.deadline != null && entry.deadline - clock.now() < SOON_MS);
    // aria-disabled, not disabled: the row keeps its place in the keyboard order and its focus
    setAttr(tr, "aria-disabled", why == null ? null : "true");
  }

  // Exactly one row per ladder is in the Tab order: the active one, else the top one.
  function ensureTabStop(card) {
    const active = card.rows.get(card.activeKey);
    if (active && active.isConnected) {
      if (active.tabIndex !== 0) active.tabIndex = 0;
      return;
    }
    const first = card.refs.tbody.firstElementChild;
    card.activeKey = first ? first.dataset.key : null;
    if (first) first.tabIndex = 0;
  }

  function activate(card, tr, focus) {
    const previous = card.rows.get(card.activeKey);
    if (previous && previous !== tr) previous.tabIndex = -1;
    card.activeKey = tr.dataset.key;
    tr.tabIndex = 0;
    if (focus) tr.focus({ preventScroll: false });
  }

  function cardOf(node) {
    const article = node && node.closest ? node.closest(".rfq-card") : null;
    return article ? cards.get(Number(article.dataset.id)) : null;
  }

  list.addEventListener("click", (event) => {
    const tr = event.target.closest("tr.quote");
    const card = cardOf(tr);
    if (!tr || !card) return;
    activate(card, tr, true);
    if (event.detail > 1) return; // the second click of a double click never sends again
    if (performance.now() - Number(tr.dataset.changedAt || 0) < SETTLE_MS) {
      result(card, "The ladder just moved under the pointer: nothing sent. Check the row and click again.", true);
      return;
    }
    hit(card, tr);
  });

  list.addEventListener("keydown", (event) => {
    const tr = event.target;
    if (!(tr instanceof HTMLTableRowElement) || !tr.classList.contains("quote")) return;
    const card = cardOf(tr);
    if (!card) return;
    let next = null;
    switch (event.key) {
      case "ArrowDown": next = tr.nextElementSibling; break;
      case "ArrowUp": next = tr.previousElementSibling; break;
      case "Home": next = tr.parentElement.firstElementChild; break;
      case "End": next = tr.parentElement.lastElementChild; break;
      case "Enter":
        event.preventDefault();
        if (!event.repeat) hit(card, tr); // a held key sends once
        return;
      default: return;
    }
    event.preventDefault(); // the arrows move between quotes, not the page
    if (next) activate(card, next, true);
  });

  // ---- trading: hit a quote, cancel the request ------------------------------

  function result(card, text, isError) {
    setText(card.refs.result, text);
    card.refs.result.classList.toggle("error", Boolean(isError));
    card.refs.result.classList.toggle("ok", !isError && Boolean(text));
  }

  async function hit(card, tr) {
    const key = tr.dataset.key;
    const entry = card.entries.get(key);
    if (!entry) return;
    const why = blocked(card, entry);
    if (why === "sending…") return; // already on its way: the answer will show
    if (why != null) {
      result(card, entry.dealer + " " + p(entry.px) + ": not sent (" + why + ").", true);
      return;
    }
    const body = { quote_id: entry.quote_id };
    const wanted = card.refs.qtyInput.value.trim();
    if (wanted !== "") {
      if (!DECIMAL.test(wanted) || Number(wanted) <= 0) {
        card.refs.qtyInput.setAttribute("aria-invalid", "true");
        result(card, "Invalid qty, was \"" + wanted + "\": a positive number, or empty for all. Nothing sent.", true);
        return;
      }
      body.qty = wanted;
    }
    if (card.rfq.side === "TWO_WAY") body.side = entry.action; // an offer row is a BUY, a bid row a SELL
    const what = entry.action + " " + (wanted || "all") + " " + (entry.action === "BUY" ? "from " : "to ") + entry.dealer
      + " at " + p(entry.px);

    card.inflight.add(key);
    rowState(card, tr, entry);
    setAttr(card.node, "aria-busy", "true");
    result(card, what + ": sending…", false);
    let answer = null;
    try {
      answer = await api("POST", "/api/rfqs/" + encodeURIComponent(card.rfq.id) + "/hit/", body);
    } catch (error) {
      result(card, what + ": no answer (" + (error.message || error) + "): it may or may not have been sent; the ladder will tell.", true);
    }
    card.inflight.delete(key);
    if (answer && answer.ok) {
      result(card, what + ": sent (HTTP " + answer.status + "); the dealer's last look decides.", false);
      if (answer.body && answer.body.id != null) upsert(answer.body);
    } else if (answer) {
      result(card, what + ": refused (HTTP " + answer.status + "): " + problem(answer.status, answer.body).message, true);
    }
    if (cards.get(card.rfq.id) === card) render(card);
  }

  async function cancelRfq(card) {
    if (card.cancelling || isTerminal(card.rfq)) return;
    card.cancelling = true;
    render(card);
    result(card, "Cancelling RFQ " + card.rfq.id + "…", false);
    let answer = null;
    try {
      answer = await api("POST", "/api/rfqs/" + encodeURIComponent(card.rfq.id) + "/cancel/");
    } catch (error) {
      result(card, "Cancel: no answer (" + (error.message || error) + "); the card will show what happened.", true);
    }
    card.cancelling = false;
    if (answer && answer.ok) {
      result(card, "RFQ " + card.rfq.id + " cancelled.", false);
      if (answer.body && answer.body.id != null) upsert(answer.body);
    } else if (answer) {
      result(card, "Not cancelled (HTTP " + answer.status + "): " + problem(answer.status, answer.body).message, true);
    }
    if (cards.get(card.rfq.id) === card) render(card);
  }

  function renderHits(card) {
    const hits = card.rfq.hits || [];
    const signature = JSON.stringify(hits);
    if (card.signatures.hits === signature) return;
    card.signatures.hits = signature;
    card.refs.hits.hidden = hits.length === 0;
    card.refs.hits.replaceChildren(...hits.map((h) => {
      const outcome = h.accepted == null ? "last look pending" : h.accepted ? "accepted" : "rejected";
      const item = el("li", "hit " + (h.accepted == null ? "pending" : h.accepted ? "accepted" : "rejected"));
      item.append(el("span", "side side-" + String(h.side).toLowerCase(), h.side), " " + q(h.qty) + " @ " + p(h.px) + " ",
        el("b", null, h.dealer), ": " + outcome + (h.reason ? " (" + h.reason + ")" : ""));
      return item;
    }));
  }

  function renderLog(card) {
    const log = card.rfq.log || [];
    setText(card.refs.logSummary, "Log (" + log.length + ")");
    const signature = log.length + ":" + (log.length ? JSON.stringify(log[log.length - 1]) : "");
    if (card.signatures.log === signature) return;
    card.signatures.log = signature;
    const rows = log.map((e) => {
      const tr = el("tr");
      [time(e.at), e.event, words(e.state), e.dealer || "", e.reason || ""].forEach((text, i) => {
        tr.appendChild(el("td", i === 4 ? "wrap" : null, text));
      });
      return tr;
    });
    const table = el("table", "grid compact");
    const headRow = el("tr");
    ["Time", "Event", "State", "Dealer", "Why"].forEach((label) => headRow.appendChild(el("th", null, label)));
    table.appendChild(el("thead")).appendChild(headRow);
    table.appendChild(el("tbody")).append(...rows);
    card.refs.logBody.replaceChildren(table);
  }

  // ---- the clock: countdowns, expiry, forgetting ended cards ----------------

  function tickCard(card) {
    const r = card.rfq;
    const t = card.refs.timer;
    if (isTerminal(r)) {
      setText(t, "ended");
      t.classList.remove("soon");
    } else {
      const end = deadline(r.as_of, r.time_left_ms, r.expires_at);
      const ms = end == null ? null : end - clock.now();
      setText(t, ms == null ? "—" : left(ms));
      t.classList.toggle("soon", ms != null && ms < SOON_MS);
      const graceEnd = deadline(r.as_of, null, r.grace_ends_at);
      const graceMs = graceEnd == null ? 0 : graceEnd - clock.now();
      card.refs.grace.hidden = !(graceMs > 0);
      if (graceMs > 0) setText(card.refs.grace, "grace period: quotes shown in " + left(graceMs));
    }
    card.rows.forEach((tr, key) => {
      const entry = card.entries.get(key);
      if (entry) rowState(card, tr, entry);
    });
  }

  function tick() {
    const now = performance.now();
    cards.forEach((card, id) => {
      const stale = card.endedAt != null && now - card.endedAt > KEEP_ENDED_MS;
      if (stale && !card.node.contains(document.activeElement)) { remove(id); return; }
      tickCard(card);
    });
  }

  // ---- starting an RFQ from a working order ---------------------------------

  const dialog = document.getElementById("rfq-dialog");
  const form = document.getElementById("rfq-form");
  const formOrder = document.getElementById("rfq-form-order");
  const dealerList = document.getElementById("rfq-dealer-list");
  const generalError = document.getElementById("rfq-err-general");
  const submitButton = document.getElementById("rfq-form-submit");
  const openButton = document.getElementById("detail-rfq");
  const FIELDS = ["window_seconds", "grace_seconds", "threshold_px", "allow_partial", "two_way", "anonymous", "dealers"];
  let shownOrder = null; // the order in the detail panel
  let formOrderShown = null; // the order the open form asks quotes for
  let submitting = false;

  function isWorking(order) {
    return order != null && WORKING_ORDER.has(order.status) && Number(order.leaves_qty) > 0;
  }

  // Called by blotter.js each time the detail panel shows an order (null when it closes).
  function onOrderDetail(order) {
    shownOrder = order;
    openButton.hidden = !isWorking(order);
  }

  function fieldInput(name) {
    return name === "dealers" ? dealerList.querySelector("input") : form.elements.namedItem(name);
  }

  function showErrors(fields, message) {
    const unplaced = [];
    FIELDS.forEach((name) => {
      const slot = document.getElementById("rfq-err-" + name);
      const reasons = fields[name];
      slot.hidden = !reasons;
      setText(slot, reasons ? reasons.join(" ") : "");
      const input = name === "dealers" ? null : form.elements.namedItem(name);
      if (input) setAttr(input, "aria-invalid", reasons ? "true" : null);
    });
    Object.entries(fields).forEach(([name, reasons]) => {
      if (!FIELDS.includes(name)) unplaced.push((name === "non_field_errors" ? "" : name + ": ") + reasons.join(" "));
    });
    const general = [message, ...unplaced].filter(Boolean).join(" ");
    generalError.hidden = !general;
    setText(generalError, general);
    const first = FIELDS.find((name) => fields[name]);
    if (first && fieldInput(first)) fieldInput(first).focus(); // else the general error is an alert: it is read out
  }

  async function openForm() {
    const order = shownOrder;
    if (!isWorking(order)) return;
    formOrderShown = order;
    form.reset();
    showErrors({}, "");
    setText(formOrder, "Order #" + order.id + ": " + order.side + " " + q(order.leaves_qty) + " " + order.instrument
      + " left of " + q(order.qty) + (order.limit_px != null ? ", limit " + p(order.limit_px) : ""));
    setText(document.getElementById("rfq-form-title"), "RFQ for order #" + order.id);
    if (typeof dialog.showModal === "function") dialog.showModal(); else dialog.setAttribute("open", "");
    form.elements.namedItem("window_seconds").focus();
    await loadDealers();
  }

  async function loadDealers() {
    dealerList.replaceChildren(el("span", "dim", "Loading dealers…"));
    let answer;
    try {
      answer = await api("GET", "/api/dealers/");
    } catch (error) {
      answer = { ok: false, status: 0, body: { detail: String(error.message || error) } };
    }
    if (!answer.ok) {
      dealerList.replaceChildren(el("span", "error", "Dealers not loaded (" + problem(answer.status, answer.body).message
        + "): the desk will choose them."));
      return;
    }
    const dealers = pageOf(answer.body).slice().sort((a, b) => (a.rank ?? 1e9) - (b.rank ?? 1e9));
    if (!dealers.length) {
      dealerList.replaceChildren(el("span", "dim", "No dealer known."));
      return;
    }
    dealerList.replaceChildren(...dealers.map((d) => {
      const label = el("label", "rfq-dealer");
      const box = el("input");
      box.type = "checkbox";
      box.name = "dealers";
      box.value = d.code;
      box.addEventListener("change", () => showFieldOk("dealers"));
      label.append(box, " ", el("b", null, d.code), " ", el("span", "dim", d.name || ""));
      if (d.rank != null) label.append(" ", el("span", "rank", "#" + d.rank));
      label.title = ["rank " + (d.rank ?? "—"), "score " + (d.score ?? "—"), "covers " + (d.covers || []).join(", "), d.summary || ""]
        .filter(Boolean).join(" · ");
      return label;
    }));
  }

  function showFieldOk(name) {
    const slot = document.getElementById("rfq-err-" + name);
    if (slot) { slot.hidden = true; setText(slot, ""); }
    const input = name === "dealers" ? null : form.elements.namedItem(name);
    if (input) input.removeAttribute("aria-invalid");
  }
  form.addEventListener("input", (event) => { if (event.target.name) showFieldOk(event.target.name); });

  // Read the form; errors the server would also give are caught here first, named like the server's.
  function readForm() {
    const value = (name) => String(form.elements.namedItem(name).value || "").trim();
    const checked = (name) => form.elements.namedItem(name).checked;
    const errors = {};
    const windowSeconds = value("window_seconds");
    if (!/^\d+$/.test(windowSeconds) || Number(windowSeconds) < 1) {
      errors.window_seconds = ["a whole number of seconds, at least 1; was \"" + windowSeconds + "\""];
    }
    const graceSeconds = value("grace_seconds") || "0";
    if (!/^\d+$/.test(graceSeconds)) errors.grace_seconds = ["a whole number of seconds, 0 or more; was \"" + graceSeconds + "\""];
    const threshold = value("threshold_px");
    if (threshold !== "" && !DECIMAL.test(threshold)) errors.threshold_px = ["a price, or empty for none; was \"" + threshold + "\""];
    const payload = {
      order: formOrderShown.id,
      window_seconds: Number(windowSeconds),
      grace_seconds: Number(graceSeconds),
      threshold_px: threshold === "" ? null : threshold,
      allow_partial: checked("allow_partial"),
      two_way: checked("two_way"),
      anonymous: checked("anonymous"),
    };
    const dealers = [...dealerList.querySelectorAll("input[name=dealers]:checked")].map((box) => box.value);
    if (dealers.length) payload.dealers = dealers; // none ticked: the desk's automatic selection
    return { payload, errors };
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (submitting || formOrderShown == null) return; // one request per click, however many clicks
    const { payload, errors } = readForm();
    if (Object.keys(errors).length) { showErrors(errors, ""); return; }
    submitting = true;
    setAttr(submitButton, "aria-disabled", "true");
    setText(submitButton, "Sending…");
    showErrors({}, "");
    let answer = null;
    try {
      answer = await api("POST", "/api/rfqs/", payload);
    } catch (error) {
      showErrors({}, "No answer (" + (error.message || error) + "): reload to see whether the RFQ started.");
    }
    submitting = false;
    setAttr(submitButton, "aria-disabled", null);
    setText(submitButton, "Send RFQ");
    if (answer == null) return;
    if (answer.ok && answer.body && answer.body.id != null) {
      upsert(answer.body);
      closeForm(false);
      const dealers = (answer.body.dealers || []).length;
      say("RFQ " + answer.body.id + " sent to " + dealers + (dealers === 1 ? " dealer." : " dealers."), false);
      const card = cards.get(answer.body.id);
      if (card) card.node.focus(); // and into view
    } else if (answer.status === 400) {
      const { fields, message } = problem(answer.status, answer.body);
      const placed = Object.keys(fields).some((name) => FIELDS.includes(name));
      showErrors(fields, placed ? "" : message);
    } else {
      showErrors({}, "Not sent (HTTP " + answer.status + "): " + problem(answer.status, answer.body).message);
    }
  });

  function closeForm(restoreFocus) {
    if (dialog.open) { if (typeof dialog.close === "function") dialog.close(); else dialog.removeAttribute("open"); }
    formOrderShown = null;
    if (restoreFocus && !openButton.hidden) openButton.focus();
  }

  openButton.addEventListener("click", openForm);
  document.getElementById("rfq-form-close").addEventListener("click", () => closeForm(true));
  dialog.addEventListener("cancel", (event) => { event.preventDefault(); closeForm(true); }); // Esc

  // ---- what blotter.js calls ------------------------------------------------

  return {
    onConnect() { reload(); },
    onMessage(msg) { if (msg && msg.type === "rfq") upsert(msg.rfq); },
    onOrderDetail,
  };
})();
