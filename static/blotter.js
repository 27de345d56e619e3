// The live blotter: loads orders and fills over REST, then applies websocket updates.
// On reconnect it reloads (the list and the open order's detail), so nothing
// published while it was away is missed. A row opens the order's detail panel:
// header, chart, TCA, algo, routing decisions, child orders, fills and events, from
// GET /api/orders/<id>/, fetched again (debounced) when the order changes.
// The RFQ panel is static/rfq.js (window.Rfq): this file tells it of each (re)connect, hands it the
// socket's "rfq" messages, and shows it the order in the detail panel (for its "RFQ…" action).
// Every piece of data reaches the page through textContent, never as HTML.
"use strict";
(function () {
  const ordersBody = document.querySelector("#orders tbody");
  const fillsBody = document.querySelector("#fills tbody");
  const live = document.getElementById("live");
  const panel = document.getElementById("order-detail");
  const panelTitle = document.getElementById("detail-title");
  const panelStatus = document.getElementById("detail-status");
  const panelBody = document.getElementById("detail-body");
  const panelError = document.getElementById("detail-error");
  const panelErrorText = document.getElementById("detail-error-text");
  const orderRows = new Map();
  const fillIds = new Set();
  const REFRESH_MS = 200; // a burst of fills for the open order makes one request
  let activeId = null; // the order row that takes the Tab stop (roving tabindex)

  const { qty, px, time, el } = window.fmt;
  const { csrfToken, getJson } = window.api;
  const rfq = window.Rfq || { onConnect() {}, onMessage() {}, onOrderDetail() {} }; // the page may come without it
  // fmt wants strings; the API sends integers for some fields (age_ms, delay_us, ...).
  const q = (v) => (v == null ? "" : qty(String(v)));
  const p = (v) => (v == null ? "" : px(String(v)));

  function cell(text, cls) {
    const td = document.createElement("td");
    td.textContent = text == null ? "" : text;
    if (cls) td.className = cls;
    return td;
  }
  // Time with milliseconds: the detail's events and decisions are often ms apart.
  function timeMs(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return String(iso);
    return d.toLocaleTimeString(undefined, { hour12: false }) + "." + String(d.getMilliseconds()).padStart(3, "0");
  }
  function statusText(status) {
    return status ? String(status).replaceAll("_", " ") : "";
  }
  // How the order is worked: the strategy now, after the first choice once it has switched ("VWAP → DARK").
  function strategyCell(o) {
    const now = o.execution_strategy || "";
    const first = o.execution_base_strategy || "";
    const switched = now !== "" && first !== "" && first !== now;
    const td = cell(switched ? first + " → " + now : now, "strategy" + (switched ? " switched" : ""));
    if (switched) td.title = "first " + first + ", switched to " + now + " (the order's detail says why)";
    return td;
  }
  // A snapshot's age: a strategy switch changes the execution, not the order, so take the newer of the two.
  function rowStamp(o) {
    return Math.max(Date.parse(o.updated_at) || 0, Date.parse(o.execution_updated_at) || 0);
  }

  // ---- the orders grid ------------------------------------------------------
  // Every order the page knows is in `orders` (id -> the newest snapshot) with its <tr> in `orderRows`.
  // Filters hide rows; the sort orders them (newest first until a header is clicked). A re-render is
  // batched to one animation frame, so a burst of fills costs one pass over the grid.

  const orders = new Map();
  const expanded = new Map(); // order id -> {tr, controller, timer}: the rows opened in place
  const filterText = document.getElementById("filter-text");
  const filterStatus = document.getElementById("filter-status");
  const filterSide = document.getElementById("filter-side");
  const orderCount = document.getElementById("order-count");
  const WORKING = new Set(["PENDING_NEW", "NEW", "PARTIALLY_FILLED", "PENDING_CANCEL", "PENDING_REPLACE"]);
  const STATUS_GROUPS = {
    working: (s) => WORKING.has(s),
    done: (s) => !WORKING.has(s),
    filled: (s) => s === "FILLED",
    canceled: (s) => s === "CANCELED" || s === "REJECTED" || s === "EXPIRED",
  };
  const sort = { key: "id", dir: -1 }; // newest first
  let renderQueued = false;

  function pctOf(part, whole) {
    const w = Number(whole);
    return w > 0 ? Math.max(0, Math.min(100, (100 * Number(part)) / w)) : 0;
  }
  function progress(o) {
    const td = document.createElement("td");
    const bar = document.createElement("div");
    bar.className = "progress";
    const fill = document.createElement("span");
    const pct = pctOf(o.filled_qty, o.qty);
    fill.style.width = pct.toFixed(1) + "%";
    bar.appendChild(fill);
    let title = pct.toFixed(1) + "% filled";
    if (o.schedule_qty != null && WORKING.has(o.status)) {
      const due = pctOf(o.schedule_qty, o.qty);
      const mark = document.createElement("i");
      mark.style.left = due.toFixed(1) + "%";
      bar.appendChild(mark);
      const gap = pct - due;
      bar.classList.add(gap < -5 ? "behind" : gap > 5 ? "ahead" : "on-schedule");
      title += ", schedule " + due.toFixed(1) + "% (" + (gap >= 0 ? "+" : "") + gap.toFixed(1) + " pp)";
    }
    bar.title = title;
    td.appendChild(bar);
    return td;
  }
  function slipCell(o) {
    const td = cell(o.slippage_bps == null ? "" : Number(o.slippage_bps).toFixed(1), "num slip");
    if (o.slippage_bps != null) {
      td.classList.add(Number(o.slippage_bps) > 0 ? "cost" : "gain");
      td.title = "avg " + p(o.avg_px) + " against arrival mid " + p(o.arrival_mid);
    }
    return td;
  }
  function toggleCell(id) {
    const td = cell("", "toggle");
    const button = el("button", "expander", expanded.has(id) ? "▾" : "▸");
    button.type = "button";
    button.tabIndex = -1; // the row holds the Tab stop; → and ← expand it from the keyboard
    button.setAttribute("aria-expanded", expanded.has(id) ? "true" : "false");
    button.setAttribute("aria-label", "children and fills of order #" + id);
    button.dataset.testid = "expand";
    td.appendChild(button);
    return td;
  }

  function upsertOrder(o) {
    const old = orderRows.get(o.id);
    // A reload races the websocket: never let an older snapshot replace a newer row.
    const stamp = rowStamp(o);
    if (old && Number(old.dataset.stamp) > stamp) return;
    orders.set(o.id, o);
    const tr = document.createElement("tr");
    tr.dataset.id = o.id;
    tr.dataset.stamp = String(stamp);
    tr.dataset.status = o.status;
    tr.className = "status-" + o.status.toLowerCase() + " side-" + o.side.toLowerCase();
    [toggleCell(o.id), cell(o.id, "num"), cell(time(o.created_at)), cell(o.portfolio), cell(o.instrument), cell(o.side, "side"),
     cell(qty(o.qty), "num"), cell(o.ord_type), cell(px(o.limit_px), "num"), strategyCell(o),
     cell(statusText(o.status), "status"), cell(qty(o.filled_qty), "num"), progress(o),
     cell(Number(o.filled_qty) > 0 ? px(o.avg_px) : "", "num"), slipCell(o)]
      .forEach((td) => tr.appendChild(td));
    tr.tabIndex = o.id === activeId ? 0 : -1;
    tr.setAttribute("aria-expanded", expanded.has(o.id) ? "true" : "false");
    if (o.id === detail.id) markOpen(tr, true);
    tr.hidden = !matches(o);
    const hadFocus = old != null && document.activeElement === old;
    if (old) { old.replaceWith(tr); } else { ordersBody.prepend(tr); }
    orderRows.set(o.id, tr);
    if (old) tr.classList.add("flash");
    if (hadFocus) tr.focus({ preventScroll: true });
    if (expanded.has(o.id)) { tr.after(expanded.get(o.id).tr); refreshExpansion(o.id); }
    queueRender();
  }

  // ---- filters and sort ----

  function matches(o) {
    const statusGroup = STATUS_GROUPS[filterStatus.value];
    if (statusGroup && !statusGroup(o.status)) return false;
    if (filterSide.value && o.side !== filterSide.value) return false;
    const text = filterText.value.trim().toLowerCase();
    if (!text) return true;
    if (text.startsWith("#")) return String(o.id) === text.slice(1);
    return [o.instrument, o.portfolio, o.execution_strategy, o.strategy, o.created_by, o.cl_ord_id, String(o.id)]
      .some((v) => v && String(v).toLowerCase().includes(text));
  }

  function sortValue(o, key) {
    switch (key) {
      case "id": return o.id;
      case "created_at": return Date.parse(o.created_at) || 0;
      case "qty": case "filled_qty": case "avg_px": case "limit_px": case "slippage_bps":
        return o[key] == null ? -Infinity : Number(o[key]); // display order only: the values shown stay strings
      case "progress": return pctOf(o.filled_qty, o.qty);
      case "strategy": return o.execution_strategy || o.strategy || "";
      default: return o[key] == null ? "" : String(o[key]);
    }
  }

  function compare(a, b) {
    const x = sortValue(a, sort.key);
    const y = sortValue(b, sort.key);
    const c = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
    return c !== 0 ? sort.dir * c : b.id - a.id;
  }

  function queueRender() {
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(render);
  }

  // Put the rows in sort order (moving only the ones out of place), apply the filters, count.
  function render() {
    renderQueued = false;
    const sorted = Array.from(orders.values()).sort(compare);
    let cursor = ordersBody.firstElementChild;
    let shown = 0;
    for (const o of sorted) {
      const tr = orderRows.get(o.id);
      tr.hidden = !matches(o);
      if (!tr.hidden) shown += 1;
      const open = expanded.get(o.id);
      if (open) open.tr.hidden = tr.hidden;
      if (cursor !== tr) ordersBody.insertBefore(tr, cursor);
      cursor = tr.nextElementSibling;
      if (open) {
        if (cursor !== open.tr) ordersBody.insertBefore(open.tr, cursor);
        cursor = open.tr.nextElementSibling;
      }
    }
    orderCount.textContent = shown === orders.size ? orders.size + " orders" : shown + " of " + orders.size + " orders";
    ensureTabStop();
  }

  document.querySelectorAll("#orders thead th[data-sort]").forEach((th) => {
    th.tabIndex = 0;
    th.title = (th.title ? th.title + ". " : "") + "Sort by " + th.textContent;
    const sortBy = () => {
      const key = th.dataset.sort;
      sort.dir = sort.key === key ? -sort.dir : (key === "id" || key === "created_at" ? -1 : 1);
      sort.key = key;
      document.querySelectorAll("#orders thead th[data-sort]").forEach((h) => h.removeAttribute("aria-sort"));
      th.setAttribute("aria-sort", sort.dir > 0 ? "ascending" : "descending");
      render();
    };
    th.addEventListener("click", sortBy);
    th.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(); } });
  });
  document.querySelector('#orders thead th[data-sort="id"]').setAttribute("aria-sort", "descending");
  [filterText, filterStatus, filterSide].forEach((input) => input.addEventListener("input", render));
  document.getElementById("order-filters").addEventListener("submit", (e) => e.preventDefault());

  // Exactly one visible row is in the Tab order: the active one, else the top one.
  function ensureTabStop() {
    const current = orderRows.get(activeId);
    if (current && !current.hidden) return;
    if (current) current.tabIndex = -1;
    const first = ordersBody.querySelector("tr[data-id]:not([hidden])");
    if (!first) return;
    activeId = Number(first.dataset.id);
    first.tabIndex = 0;
  }

  function activate(tr, focus) {
    const previous = orderRows.get(activeId);
    if (previous && previous !== tr) previous.tabIndex = -1;
    activeId = Number(tr.dataset.id);
    tr.tabIndex = 0;
    if (focus) tr.focus();
  }

  function markOpen(tr, open) {
    tr.classList.toggle("selected", open);
    if (open) { tr.setAttribute("aria-current", "true"); } else { tr.removeAttribute("aria-current"); }
  }

  // the next or previous visible order row (an expansion row is skipped)
  function sibling(tr, forward) {
    let next = forward ? tr.nextElementSibling : tr.previousElementSibling;
    while (next && (next.hidden || !next.dataset.id)) next = forward ? next.nextElementSibling : next.previousElementSibling;
    return next;
  }

  ordersBody.addEventListener("click", (event) => {
    const tr = event.target.closest("tr[data-id]");
    if (!tr) return;
    const id = Number(tr.dataset.id);
    if (event.target.closest("button.expander")) {
      activate(tr, false);
      setExpanded(id, !expanded.has(id));
      return;
    }
    activate(tr, true);
    openDetail(id);
  });

  ordersBody.addEventListener("keydown", (event) => {
    const tr = event.target.closest("tr[data-id]");
    if (!tr || event.target !== tr) return;
    const id = Number(tr.dataset.id);
    let next = null;
    switch (event.key) {
      case "ArrowDown": next = sibling(tr, true); break;
      case "ArrowUp": next = sibling(tr, false); break;
      case "Home": next = ordersBody.querySelector("tr[data-id]:not([hidden])"); break;
      case "End": next = Array.from(ordersBody.querySelectorAll("tr[data-id]:not([hidden])")).pop(); break;
      case "ArrowRight": event.preventDefault(); setExpanded(id, true); return;
      case "ArrowLeft": event.preventDefault(); setExpanded(id, false); return;
      case "Enter":
        event.preventDefault();
        activate(tr, false);
        openDetail(id);
        return;
      default: return;
    }
    event.preventDefault(); // the arrows move between rows, not the page
    if (next) activate(next, true);
  });

  // ---- a row expanded in place: its child orders and fills ----

  function setExpanded(id, open) {
    const row = orderRows.get(id);
    if (!row || open === expanded.has(id)) return;
    if (open) {
      const tr = el("tr", "expansion");
      tr.dataset.parent = id;
      const td = el("td");
      td.colSpan = row.children.length;
      td.appendChild(el("p", "dim", "Loading…"));
      tr.appendChild(td);
      expanded.set(id, { tr, controller: null, timer: null });
      row.after(tr);
      refreshExpansion(id, true);
    } else {
      const open_ = expanded.get(id);
      if (open_.controller) open_.controller.abort();
      clearTimeout(open_.timer);
      open_.tr.remove();
      expanded.delete(id);
    }
    row.setAttribute("aria-expanded", open ? "true" : "false");
    const button = row.querySelector("button.expander");
    button.textContent = open ? "▾" : "▸";
    button.setAttribute("aria-expanded", open ? "true" : "false");
  }

  function refreshExpansion(id, now) {
    const open = expanded.get(id);
    if (!open || open.timer != null) return;
    open.timer = setTimeout(async () => {
      open.timer = null;
      if (open.controller) open.controller.abort();
      const controller = new AbortController();
      open.controller = controller;
      try {
        const response = await fetch("/api/orders/" + id + "/", {
          credentials: "same-origin", headers: { Accept: "application/json" }, signal: controller.signal,
        });
        if (!response.ok) throw new Error(await errorMessage(response, id));
        const order = await response.json();
        if (expanded.get(id) !== open) return;
        const td = open.tr.firstElementChild;
        td.replaceChildren(renderChildren(order.children || []), renderFills(order.fills || []));
      } catch (error) {
        if (error.name === "AbortError") return;
        open.tr.firstElementChild.replaceChildren(el("p", "error", "Could not load order #" + id + ": " + error.message));
      } finally {
        if (open.controller === controller) open.controller = null;
      }
    }, now ? 0 : REFRESH_MS);
  }

  // ---- the fills grid -------------------------------------------------------

  function addFill(f) {
    if (fillIds.has(f.id)) return;
    fillIds.add(f.id);
    const tr = document.createElement("tr");
    tr.dataset.id = f.id;
    tr.dataset.parent = f.parent;
    [cell(time(f.executed_at)), cell(f.parent), cell(f.venue), cell(f.side, "side"), cell(qty(f.qty), "num"),
     cell(px(f.px), "num"), cell(px(f.fee), "num"), cell(f.liquidity), cell(f.exec_id, "mono")]
      .forEach((td) => tr.appendChild(td));
    tr.className = "side-" + f.side.toLowerCase() + " flash";
    tr.title = "order #" + f.parent + ": click for its detail";
    fillsBody.prepend(tr);
  }

  fillsBody.addEventListener("click", (event) => {
    const tr = event.target.closest("tr");
    if (tr && tr.dataset.parent) openDetail(Number(tr.dataset.parent));
  });

  // ---- the detail panel: fetching -------------------------------------------

  const detail = {
    id: null, // the open order, or null when the panel is closed
    controller: null, // the request in flight, if any
    pending: false, // the order changed while a request was in flight: fetch again after it
    timer: null, // the debounce timer
    openSeqs: new Map(), // decision seq -> open, as the user left each one
    loaded: false, // the body shows this order (so an error keeps it, dimmed)
  };

  function openDetail(id) {
    if (detail.id !== id) {
      stopFetching();
      const previous = orderRows.get(detail.id);
      if (previous) markOpen(previous, false);
      detail.id = id;
      detail.openSeqs = new Map();
      detail.loaded = false;
      rfq.onOrderDetail(null); // until this order is loaded, its actions wait
      actions.show(null);
      chart.close();
      panelTitle.textContent = "Order #" + id;
      panelStatus.textContent = "";
      panelBody.replaceChildren(el("p", "dim", "Loading…"));
      showError(null);
      panel.scrollTop = 0;
    }
    const row = orderRows.get(id);
    if (row) markOpen(row, true);
    panel.hidden = false;
    document.body.classList.add("detail-open");
    fetchDetail();
  }

  function closeDetail() {
    if (detail.id == null) return;
    stopFetching();
    const row = orderRows.get(detail.id);
    if (row) markOpen(row, false);
    detail.id = null;
    rfq.onOrderDetail(null);
    actions.show(null);
    chart.close();
    panel.hidden = true;
    document.body.classList.remove("detail-open");
    const back = orderRows.get(activeId);
    if (back) back.focus({ preventScroll: true });
  }

  function stopFetching() {
    if (detail.controller) detail.controller.abort();
    detail.controller = null;
    detail.pending = false;
    clearTimeout(detail.timer);
    detail.timer = null;
  }

  // Debounced: the first change starts the clock; changes within REFRESH_MS join it.
  function scheduleRefresh() {
    if (detail.id == null || detail.timer != null) return;
    detail.timer = setTimeout(() => {
      detail.timer = null;
      fetchDetail();
    }, REFRESH_MS);
  }

  async function fetchDetail() {
    const id = detail.id;
    if (id == null) return;
    if (detail.controller) { detail.pending = true; return; } // one request at a time; the newest wins
    const controller = new AbortController();
    detail.controller = controller;
    panel.setAttribute("aria-busy", "true");
    try {
      const response = await fetch("/api/orders/" + encodeURIComponent(id) + "/", {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        signal: controller.signal,
      });
      if (!response.ok) throw new Error(await errorMessage(response, id));
      const order = await response.json();
      if (detail.id !== id) return;
      renderDetail(order);
      showError(null);
    } catch (error) {
      if (error.name === "AbortError" || detail.id !== id) return;
      showError("Could not load order #" + id + ": " + error.message);
    } finally {
      if (detail.controller === controller) {
        detail.controller = null;
        panel.removeAttribute("aria-busy");
        if (detail.pending) {
          detail.pending = false;
          scheduleRefresh();
        }
      }
    }
  }

  async function errorMessage(response, id) {
    if (response.status === 404) return "no such order, or not one you may see";
    if (response.status === 401 || response.status === 403) return "not allowed (logged out?)";
    let message = "";
    try {
      const body = await response.json();
      message = body && body.error && body.error.message ? String(body.error.message) : "";
    } catch (_) { /* not JSON: the status says enough */ }
    return "HTTP " + response.status + (message ? " " + message : "");
  }

  function showError(message) {
    panelError.hidden = message == null;
    panelErrorText.textContent = message == null ? "" : message;
    panelBody.classList.toggle("stale", message != null && detail.loaded);
    if (message != null && !detail.loaded) panelBody.replaceChildren();
  }

  document.getElementById("detail-close").addEventListener("click", closeDetail);
  document.getElementById("detail-retry").addEventListener("click", () => fetchDetail());
  // another panel (the RFQ panel's order link) opens an order's detail
  document.addEventListener("blotter:open-order", (event) => {
    const id = Number(event.detail && event.detail.id);
    if (!Number.isFinite(id)) return;
    if (orderRows.has(id)) activate(orderRows.get(id), false);
    openDetail(id);
  });
  const newOrder = document.getElementById("new-order");
  if (newOrder) newOrder.addEventListener("click", () => { if (window.Ticket) window.Ticket.open(); });
  document.addEventListener("keydown", (event) => {
    const typing = event.target instanceof Element && event.target.closest("input, select, textarea, dialog, [contenteditable]");
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "/") { event.preventDefault(); filterText.focus(); filterText.select(); }
    if ((event.key === "n" || event.key === "N") && newOrder && window.Ticket) { event.preventDefault(); window.Ticket.open(); }
  });
  document.addEventListener("keydown", (event) => {
    // Esc in a dialog (the RFQ form) closes the dialog, not the panel behind it
    if (event.target instanceof Element && event.target.closest("dialog")) return;
    if (event.key === "Escape" && detail.id != null) {
      event.preventDefault();
      closeDetail();
    }
  });

  // ---- the detail panel: rendering ------------------------------------------

  function section(title, count) {
    const box = el("section", "detail-section");
    const h = el("h3", null, title);
    if (count != null) h.appendChild(el("span", "count", count));
    box.appendChild(h);
    return box;
  }

  // headers: [label, "num" | null]; rows: arrays of <td>, or {cells, cls, title, data}
  function table(headers, rows, cls) {
    const t = el("table", "grid compact" + (cls ? " " + cls : ""));
    const head = el("tr");
    headers.forEach(([label, hcls]) => head.appendChild(el("th", hcls, label)));
    t.appendChild(el("thead")).appendChild(head);
    const body = t.appendChild(el("tbody"));
    rows.forEach((row) => {
      const tr = el("tr", row.cls);
      if (row.title) tr.title = row.title;
      Object.entries(row.data || {}).forEach(([k, v]) => { tr.dataset[k] = v; });
      (row.cells || row).forEach((td) => tr.appendChild(td));
      body.appendChild(tr);
    });
    return t;
  }

  function kv(pairs) {
    const dl = el("dl", "kv");
    pairs.forEach(([label, value, cls]) => {
      dl.appendChild(el("dt", null, label));
      dl.appendChild(el("dd", cls, value === "" || value == null ? "—" : value));
    });
    return dl;
  }

  function badge(action) {
    return el("span", "badge badge-" + String(action).toLowerCase().replace(/[^a-z0-9]+/g, "-"), action);
  }

  function top(level) {
    // [px, qty] or [null, null]
    if (!Array.isArray(level) || level[0] == null) return "—";
    return p(level[0]) + " × " + q(level[1]);
  }

  function yesNo(v) { return v == null ? "—" : v ? "yes" : "no"; }

  function renderDetail(o) {
    // what the user set up survives a live refresh: open decisions and scroll
    panelBody.querySelectorAll("details.decision").forEach((d) => detail.openSeqs.set(Number(d.dataset.seq), d.open));
    const scroll = panel.scrollTop;
    panelTitle.textContent = "Order #" + o.id;
    panelStatus.textContent = statusText(o.status);
    panelStatus.className = "detail-status status-" + String(o.status).toLowerCase();
    panelBody.replaceChildren(
      renderHeader(o),
      chart.section(o),
      renderTca(o.tca, o.id),
      renderAlgo(o.execution),
      renderDecisions(o.routing_decisions || []),
      renderChildren(o.children || []),
      renderFills(o.fills || []),
      renderEvents(o.events || []),
    );
    detail.loaded = true;
    panel.scrollTop = scroll;
    rfq.onOrderDetail(o);
    actions.show(o);
  }

  // ---- the detail panel: the chart (static/order_chart.js) ----
  // One chart per open order: its section is kept across live refreshes (moved, not rebuilt), and redrawn
  // with the detail, so a burst of fills costs one chart request per REFRESH_MS too.

  const chart = {
    id: null,
    box: null,
    section(o) {
      if (!window.OrderChart) return el("span");
      if (this.id !== o.id) {
        this.close();
        this.id = o.id;
        this.box = section("Chart");
        const holder = el("div", "order-chart");
        holder.dataset.testid = "order-chart";
        this.box.appendChild(holder);
        window.OrderChart.mount(holder, o.id);
      } else {
        window.OrderChart.refresh();
      }
      return this.box;
    },
    close() {
      if (this.id != null && window.OrderChart) window.OrderChart.unmount();
      this.id = null;
      this.box = null;
    },
  };

  // ---- the detail panel: amend and cancel ----

  const actions = {
    amend: document.getElementById("detail-amend"),
    cancel: document.getElementById("detail-cancel"),
    order: null,
    confirmTimer: null,
    show(o) {
      this.order = o;
      const workable = o != null && WORKING.has(o.status) && o.status !== "PENDING_CANCEL";
      if (this.amend) this.amend.hidden = !workable || !window.Ticket;
      if (this.cancel) {
        this.cancel.hidden = !workable;
        if (!workable) this.disarm();
      }
    },
    disarm() {
      clearTimeout(this.confirmTimer);
      this.confirmTimer = null;
      this.cancel.textContent = "Cancel order";
      this.cancel.classList.remove("armed");
    },
    // First press arms the button ("Confirm cancel", 4 s); the second sends. No modal in the trader's way.
    async onCancel() {
      const o = this.order;
      if (!o) return;
      if (this.confirmTimer == null) {
        this.cancel.textContent = "Confirm cancel #" + o.id;
        this.cancel.classList.add("armed");
        this.confirmTimer = setTimeout(() => this.disarm(), 4000);
        return;
      }
      this.disarm();
      this.cancel.setAttribute("aria-disabled", "true");
      try {
        const response = await fetch("/api/orders/" + o.id + "/cancel/", {
          method: "POST",
          credentials: "same-origin",
          headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
        });
        if (!response.ok) throw new Error(await errorMessage(response, o.id));
        showError(null);
        fetchDetail();
      } catch (error) {
        showError("Could not cancel order #" + o.id + ": " + error.message);
      } finally {
        this.cancel.removeAttribute("aria-disabled");
      }
    },
  };
  if (actions.cancel) actions.cancel.addEventListener("click", () => actions.onCancel());
  if (actions.amend) actions.amend.addEventListener("click", () => { if (actions.order && window.Ticket) window.Ticket.amend(actions.order); });
  // ---- the detail panel: transaction cost analysis ----

  function bps(v) { return v == null ? "—" : Number(v).toFixed(2) + " bps"; }

  function renderTca(t, orderId) {
    const box = section("Transaction cost");
    const full = el("a", "tca-full", "Full TCA →");
    full.href = "/orders/" + encodeURIComponent(String(orderId)) + "/tca/";
    full.title = "every figure with its definition, and each fill's spreads and markouts";
    box.querySelector("h3").append(" ", full);
    if (!t) {
      box.appendChild(el("p", "dim", "Not yet: the execution has no arrival price."));
      return box;
    }
    const total = el("p", "tca-total");
    total.append("Shortfall ", el("b", Number(t.shortfall_bps) > 0 ? "cost" : "gain", bps(t.shortfall_bps)),
      " against the decision price " + p(t.decision_px));
    box.appendChild(total);
    const liq = t.liquidity || {};
    const share = (v) => (v == null ? "" : " (" + (100 * Number(v)).toFixed(1) + "%)");
    box.appendChild(kv([
      ["Delay", bps(t.delay_bps)],
      ["Impact", bps(t.impact_bps)],
      ["Timing", bps(t.timing_bps)],
      ["Opportunity", bps(t.opportunity_bps)],
      ["Fees", bps(t.fees_bps)],
      ["Arrival mid", p(t.arrival_mid)],
      ["Mark now", p(t.end_mid) + " (" + String(t.end_mid_source || "").toLowerCase() + ")"],
      ["Avg px", Number(t.filled_qty) > 0 ? p(t.avg_px) : ""],
      ["Filled", q(t.filled_qty)],
      ["Participation", t.participation == null ? "" : (100 * Number(t.participation)).toFixed(2) + "%"],
      ["vs arrival", t.arrival_slippage_bps == null ? "" : bps(t.arrival_slippage_bps)],
      ["vs interval VWAP", t.interval_vwap_slippage_bps == null ? "" : bps(t.interval_vwap_slippage_bps)
        + " (VWAP " + p(t.interval_vwap) + ")"],
      ["Liquidity added", liq.added_qty == null ? "" : q(liq.added_qty) + share(liq.added_share)],
      ["Liquidity removed", liq.removed_qty == null ? "" : q(liq.removed_qty) + share(liq.removed_share)],
    ]));
    const marks = Object.entries(t.markouts_bps || {});
    if (marks.length) {
      box.appendChild(table(
        [["Markout after"], ["bps", "num"]],
        marks.map(([h, v]) => [el("td", null, h + " s"), el("td", "num " + (Number(v) >= 0 ? "gain" : "cost"), Number(v).toFixed(2))]),
        "markouts",
      ));
    }
    return box;
  }

  function renderHeader(o) {
    const box = el("section", "detail-section detail-header side-" + String(o.side).toLowerCase());
    const line = el("div", "headline");
    line.append(
      el("span", "side", o.side), " ", el("b", null, q(o.qty)), " ", el("b", null, o.instrument), " ",
      el("span", null, o.ord_type === "LIMIT" ? "LIMIT " + p(o.limit_px) : o.ord_type), " · ",
      el("span", null, o.tif), " · ", el("span", null, o.urgency),
    );
    box.appendChild(line);
    const filled = Number(o.filled_qty) > 0;
    box.appendChild(kv([
      ["Status", statusText(o.status), "status-text"],
      ["Filled", q(o.filled_qty) + " / " + q(o.qty)],
      ["Avg px", filled ? p(o.avg_px) : ""],
      ["Leaves", q(o.leaves_qty)],
      ["Fees", filled ? p(o.fees) : ""],
      ["Portfolio", o.portfolio],
      ["By", o.created_by],
      ["Created", timeMs(o.created_at)],
      ["Cl ord id", o.cl_ord_id],
    ]));
    const chosen = (o.events || []).filter((e) => e.kind === "STRATEGY_SELECTED").pop();
    const strategy = el("p", "rationale");
    if (chosen) {
      strategy.appendChild(el("b", null, "Strategy " + ((chosen.data && chosen.data.strategy) || "") + ": "));
      strategy.appendChild(document.createTextNode(chosen.reason || "no reason given"));
    } else {
      strategy.appendChild(el("span", "dim", "No strategy selected yet."));
    }
    box.appendChild(strategy);
    return box;
  }

  // The algo at work: the strategy now (and first), its window and ticks, where the schedule stands, each switch.
  function renderAlgo(x) {
    const box = section("Algo");
    if (!x) {
      box.appendChild(el("p", "dim", "Not started."));
      return box;
    }
    const ticks = x.ticks || [];
    const last = ticks[ticks.length - 1];
    const strategy = x.strategy + (x.base_strategy && x.base_strategy !== x.strategy ? " (from " + x.base_strategy + ")" : "");
    box.appendChild(kv([
      ["Strategy", strategy],
      ["Rule", x.rule],
      ["Status", x.status],
      ["Window", x.start_at ? timeMs(x.start_at) + " → " + (x.end_at ? timeMs(x.end_at) : "—") : ""],
      ["Ticks", String(ticks.length)],
      ["Next tick", x.next_tick_at ? timeMs(x.next_tick_at) : ""],
      ["Schedule", last && last.target_qty != null ? "due " + q(last.target_qty) + ", filled " + q(last.filled_qty) : ""],
      ["Params", Object.entries(x.params || {}).filter(([, v]) => v != null).map(([k, v]) => k + " " + v).join(", ")],
    ]));
    if ((x.switches || []).length) {
      box.appendChild(table(
        [["Time", null], ["From", null], ["To", null], ["Filled", "num"], ["Avg px", "num"], ["Why", null]],
        x.switches.map((w) => [
          el("td", null, timeMs(w.at)), el("td", null, w.from), el("td", null, w.to),
          el("td", "num", q(w.filled_qty)), el("td", "num", Number(w.filled_qty) > 0 ? p(w.avg_px) : "—"), el("td", null, w.reason),
        ]),
        "switches",
      ));
    }
    const notes = el("ul", "reasons");
    (x.notes || []).slice(-8).forEach((n) => notes.appendChild(el("li", null, timeMs(n.at) + " " + n.kind + ": " + n.reason)));
    if ((x.notes || []).length) box.appendChild(notes);
    return box;
  }

  function renderDecisions(decisions) {
    const box = section("Routing decisions", decisions.length);
    if (!decisions.length) {
      box.appendChild(el("p", "dim", "None yet."));
      return box;
    }
    const newestFirst = decisions.slice().sort((a, b) => b.seq - a.seq);
    const latest = newestFirst[0].seq;
    newestFirst.forEach((d) => box.appendChild(renderDecision(d, d.seq === latest)));
    return box;
  }

  function renderDecision(d, latest) {
    const box = el("details", "decision");
    box.dataset.seq = d.seq;
    box.open = detail.openSeqs.has(d.seq) ? detail.openSeqs.get(d.seq) : latest;

    const summary = el("summary");
    summary.append(el("span", "seq", "#" + d.seq), el("span", "dim", timeMs(d.created_at)), el("span", "trigger", d.trigger));
    summary.title = d.trigger || "";
    const badges = el("span", "badges");
    (d.actions || []).forEach((a) => badges.appendChild(badge(a)));
    if (d.rfq && !(d.actions || []).includes("RFQ")) badges.appendChild(badge("RFQ"));
    if (!(d.actions || []).length && !d.rfq) badges.appendChild(el("span", "dim", "no action"));
    summary.appendChild(badges);
    const qtys = el("span", "qtys");
    qtys.append(q(d.qty), " · routed ", q(d.routed_qty), " · ");
    qtys.appendChild(el("span", Number(d.unrouted_qty) > 0 ? "warn" : null, "unrouted " + q(d.unrouted_qty)));
    summary.appendChild(qtys);
    summary.appendChild(el("span", "us", (d.decision_us == null ? "?" : d.decision_us) + " µs"));
    box.appendChild(summary);

    const inputs = d.inputs || {};
    const body = el("div", "decision-body");
    body.appendChild(el("div", "meta",
      [d.side, q(d.qty), d.limit_px != null ? "@ " + p(d.limit_px) : "market", "· " + d.urgency,
       "· tif " + (inputs.tif || "—"), "· ADV " + (inputs.adv != null ? q(inputs.adv) : "—"),
       "· vol " + (inputs.volatility_daily != null ? inputs.volatility_daily : "—"),
       "· dark tried " + yesNo(inputs.dark_tried), "· RFQ allowed " + yesNo(inputs.allow_rfq)].join(" ")));

    const reasons = el("ul", "reasons");
    (d.reasons || []).forEach((r) => reasons.appendChild(el("li", null, r)));
    if (!(d.reasons || []).length) reasons.appendChild(el("li", "dim", "no reason recorded"));
    body.appendChild(reasons);

    const excluded = Object.entries(d.excluded || {});
    if (excluded.length) {
      const ex = el("div", "excluded");
      ex.appendChild(el("span", "label", "Excluded"));
      excluded.forEach(([venue, why]) => {
        const item = el("span", "excluded-venue");
        item.append(el("b", null, venue), " " + why);
        ex.appendChild(item);
      });
      body.appendChild(ex);
    }

    const orders = d.orders || [];
    body.appendChild(el("h4", null, "Orders chosen (" + orders.length + ")"));
    if (orders.length) {
      body.appendChild(table(
        [["Venue"], ["Action"], ["Qty", "num"], ["Limit", "num"], ["TIF"], ["Display", "num"], ["Min", "num"],
         ["Delay µs", "num"], ["Reason"]],
        orders.map((r) => [
          cell(r.venue), cell(r.action + (r.peg ? " " + r.peg : "") + (r.post_only ? " PO" : "")), cell(q(r.qty), "num"),
          cell(p(r.limit_px), "num"), cell(r.tif), cell(q(r.display_qty), "num"),
          cell(Number(r.min_qty) > 0 ? q(r.min_qty) : "", "num"),
          cell(r.delay_us == null ? "" : String(r.delay_us), "num"), cell(r.reason, "wrap"),
        ]),
      ));
    }
    if ((d.children || []).length) {
      const kids = el("div", "meta");
      kids.append("children: ", el("span", "mono", d.children.join(", ")));
      body.appendChild(kids);
    }

    const venues = inputs.venues || [];
    body.appendChild(el("h4", null, "What the router saw (" + venues.length + " venues)"));
    if (venues.length) {
      const why = d.excluded || {};
      body.appendChild(table(
        [["Venue"], ["Kind"], ["State"], ["Age ms", "num"], ["Maker", "num"], ["Taker", "num"], ["Bid", "num"],
         ["Ask", "num"], ["Fill rate", "num"], ["Markout bps", "num"], ["Reject", "num"], ["Lat ms", "num"],
         ["Score", "num"]],
        venues.map((v) => {
          const s = v.score || {};
          const out = Object.prototype.hasOwnProperty.call(why, v.venue);
          return {
            cls: (out ? "excluded-row" : "") + (v.state !== "OPEN" ? " not-open" : ""),
            title: out ? v.venue + " excluded: " + why[v.venue] : "",
            data: { venue: v.venue },
            cells: [
              cell(v.venue), cell(v.kind), cell(v.state, "state"), cell(v.age_ms == null ? "—" : String(v.age_ms), "num"),
              cell(p(v.maker_fee), "num"), cell(p(v.taker_fee), "num"), cell(top(v.bid), "num"), cell(top(v.ask), "num"),
              // no score for a venue the router excluded: it was never weighed
              cell(s.fill_rate ?? "—", "num"), cell(s.markout_bps ?? "—", "num"), cell(s.reject_rate ?? "—", "num"),
              cell(s.latency_ms ?? "—", "num"), cell(s.value ?? "—", "num score"),
            ],
          };
        }),
        "venues-seen",
      ));
    }
    box.appendChild(body);
    return box;
  }

  function renderChildren(children) {
    const box = section("Child orders", children.length);
    if (!children.length) {
      box.appendChild(el("p", "dim", "None yet."));
      return box;
    }
    box.appendChild(table(
      [["Cl ord id"], ["Venue"], ["Action"], ["Dec", "num"], ["Qty", "num"], ["Limit", "num"], ["TIF"],
       ["Display", "num"], ["Min", "num"], ["Status"], ["Filled", "num"], ["Avg px", "num"], ["Venue says"]],
      children.map((c) => ({
        cls: "status-" + String(c.status).toLowerCase(),
        title: c.route_reason || "",
        data: { clOrdId: c.cl_ord_id },
        cells: [
          cell(c.cl_ord_id, "mono"), cell(c.venue), cell(c.action + (c.peg ? " " + c.peg : "")),
          cell(c.decision_seq == null ? "" : "#" + c.decision_seq, "num"), cell(q(c.qty), "num"), cell(p(c.limit_px), "num"),
          cell(c.tif), cell(q(c.display_qty), "num"), cell(Number(c.min_qty) > 0 ? q(c.min_qty) : "", "num"),
          cell(statusText(c.status), "status"), cell(q(c.filled_qty), "num"),
          cell(Number(c.filled_qty) > 0 ? p(c.avg_px) : "", "num"), cell(c.text, "wrap"),
        ],
      })),
    ));
    return box;
  }

  function renderFills(fills) {
    const box = section("Fills", fills.length);
    if (!fills.length) {
      box.appendChild(el("p", "dim", "None yet."));
      return box;
    }
    box.appendChild(table(
      [["Time"], ["Child"], ["Venue"], ["Qty", "num"], ["Px", "num"], ["Fee", "num"], ["Liq"], ["Exec id"]],
      fills.map((f) => ({
        cls: "side-" + String(f.side).toLowerCase(),
        cells: [
          cell(timeMs(f.executed_at)), cell(f.child_cl_ord_id, "mono"), cell(f.venue), cell(q(f.qty), "num"),
          cell(p(f.px), "num"), cell(p(f.fee), "num"), cell(f.liquidity), cell(f.exec_id, "mono"),
        ],
      })),
    ));
    return box;
  }

  function renderEvents(events) {
    const box = section("Events", events.length);
    if (!events.length) {
      box.appendChild(el("p", "dim", "None."));
      return box;
    }
    box.appendChild(table(
      [["Time"], ["Kind"], ["Actor"], ["Child"], ["Status"], ["Reason"]],
      events.map((e) => [
        cell(timeMs(e.created_at)), cell(e.kind, "kind"), cell(e.actor), cell(e.child_cl_ord_id, "mono"),
        cell(e.status_after ? statusText(e.status_before || "—") + " → " + statusText(e.status_after) : ""),
        cell(e.reason, "wrap"),
      ]),
      "events",
    ));
    return box;
  }

  async function load() {
    const [orders, fills] = await Promise.all([getJson("/api/orders/?limit=200"), getJson("/api/fills/?limit=200")]);
    orders.results.slice().reverse().forEach(upsertOrder);
    fills.results.slice().reverse().forEach(addFill);
  }

  function connect() {
    window.api.live("/ws/blotter/", {
      indicator: live,
      onOpen() {
        // (re)connected: whatever was published while away is only in the database
        load().catch((e) => {
          console.error("blotter load failed", e);
          live.textContent = "live, load failed";
          live.className = "live off";
          live.title = String(e.message || e);
        });
        if (detail.id != null) fetchDetail();
        rfq.onConnect();
      },
      onMessage(msg) {
        if (msg.type === "order") upsertOrder(msg.order);
        if (msg.type === "fill") { addFill(msg.fill); upsertOrder(msg.order); }
        if ((msg.type === "order" || msg.type === "fill") && msg.order && msg.order.id === detail.id) scheduleRefresh();
        if (msg.type === "rfq") rfq.onMessage(msg);
      },
    });
  }
  connect();
})();
