// Positions and P&L, live: GET /api/portfolios/ (cash) and GET /api/positions/ (quantity, cost, mark, P&L),
// one <tbody> per portfolio: its summary line, then its positions, sortable by any column.
// When it loads again:
//   - on every (re)connect of the blotter's websocket (/ws/blotter/): whatever filled while away is only in
//     the database;
//   - on each "fill" message, debounced (a burst of fills makes one request);
//   - every REMARK_MS while the tab is visible: marks move with the market even when nothing fills, and
//     no message says so, so the page asks again (a hidden tab does not; it catches up when shown).
// One request at a time: a refresh asked for while one is in flight runs after it, so the newest data lands
// last. Money stays the API's decimal strings: sums and comparisons are exact (BigInt), never floats.
// Every piece of data reaches the page through textContent, never as HTML.
"use strict";
(function () {
  const { qty, px, time, el } = window.fmt;
  const { getJson } = window.api;
  const table = document.getElementById("positions");
  const live = document.getElementById("live");
  const updated = document.getElementById("pos-updated");
  const loading = document.getElementById("pos-loading");
  const empty = document.getElementById("pos-empty");
  const errorBox = document.getElementById("pos-error");
  const errorText = document.getElementById("pos-error-text");
  const portfolioFilter = document.getElementById("pos-portfolio");
  const symbolFilter = document.getElementById("pos-symbol");
  const hideFlat = document.getElementById("pos-hide-flat");
  const COLUMNS_N = table.tHead.rows[0].cells.length;
  const REFRESH_MS = 250; // a burst of fills makes one request
  const REMARK_MS = 2000; // marks move with the market: re-mark this often while the tab is visible

  // ---- exact decimals -------------------------------------------------------
  // The API's decimals are plain strings ("-1234.5600", never exponent form). As a BigInt scaled by
  // 10^scale they add and compare exactly; a sum goes back to a string for window.fmt.

  function parseDec(text) {
    const match = /^(-?)(\d*)(?:\.(\d*))?$/.exec(String(text).trim());
    if (!match) return null;
    const frac = match[3] || "";
    const digits = (match[2] || "0") + frac;
    return { units: BigInt(match[1] + digits), scale: frac.length };
  }
  function rescale(d, scale) { return d.units * 10n ** BigInt(scale - d.scale); }
  function decAdd(a, b) {
    const x = parseDec(a), y = parseDec(b);
    if (!x || !y) return null;
    const scale = Math.max(x.scale, y.scale);
    const units = rescale(x, scale) + rescale(y, scale);
    const negative = units < 0n;
    const digits = (negative ? -units : units).toString().padStart(scale + 1, "0");
    const text = scale ? digits.slice(0, -scale) + "." + digits.slice(-scale) : digits;
    return (negative ? "-" : "") + text;
  }
  function decCmp(a, b) {
    const x = parseDec(a), y = parseDec(b);
    if (!x || !y) return 0;
    const scale = Math.max(x.scale, y.scale);
    const u = rescale(x, scale), v = rescale(y, scale);
    return u < v ? -1 : u > v ? 1 : 0;
  }
  function sign(text) { return text == null ? 0 : decCmp(text, "0"); }

  // Money: the price format (at least two places, no trailing zeros past them) with thousands grouped.
  function money(text, signed) {
    if (text == null || text === "") return "—";
    const shown = px(String(text));
    const negative = shown.startsWith("-");
    const [whole, frac] = (negative ? shown.slice(1) : shown).split(".");
    const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",") + (frac != null ? "." + frac : "");
    return (negative ? "-" : signed && sign(text) > 0 ? "+" : "") + grouped;
  }
  function pnlClass(text) {
    const s = sign(text);
    return text == null ? "" : s > 0 ? "pnl-up" : s < 0 ? "pnl-down" : "pnl-flat";
  }

  // ---- columns, sorting and filters -----------------------------------------

  const isFlat = (p) => sign(p.qty) === 0;
  // key: the API's field and the header's data-sort; raw: what the sort and the flash compare; text: what shows
  const COLUMNS = [
    { key: "symbol", raw: (p) => p.instrument, text: (p) => p.instrument, cls: "symbol", decimal: false },
    { key: "qty", raw: (p) => p.qty, text: (p) => qty(p.qty), cls: "num" },
    { key: "avg_cost", raw: (p) => (isFlat(p) ? null : p.avg_cost), text: (p) => (isFlat(p) ? "" : px(p.avg_cost)), cls: "num" },
    { key: "mark", raw: (p) => p.mark, cls: "num mark" }, // with its source: see markCell
    { key: "market_value", raw: (p) => p.market_value, text: (p) => money(p.market_value), cls: "num" },
    { key: "unrealized_pnl", raw: (p) => p.unrealized_pnl, text: (p) => money(p.unrealized_pnl, true), cls: "num", pnl: true },
    { key: "realized_pnl", raw: (p) => p.realized_pnl, text: (p) => money(p.realized_pnl, true), cls: "num", pnl: true },
    { key: "fees", raw: (p) => p.fees, text: (p) => money(p.fees), cls: "num", costly: true },
  ];
  const sort = { key: "symbol", dir: 1 };

  function compare(a, b) {
    const column = COLUMNS.find((c) => c.key === sort.key);
    const x = column.raw(a), y = column.raw(b);
    if (x == null || y == null) { // unmarked (or flat) last, whichever way
      if (x == null && y != null) return 1;
      if (y == null && x != null) return -1;
    } else {
      const order = column.decimal === false ? String(x).localeCompare(String(y)) : decCmp(x, y);
      if (order !== 0) return order * sort.dir;
    }
    return a.instrument.localeCompare(b.instrument);
  }

  function showSort() {
    table.tHead.querySelectorAll("th[data-sort]").forEach((th) => {
      if (th.dataset.sort === sort.key) th.setAttribute("aria-sort", sort.dir > 0 ? "ascending" : "descending");
      else th.removeAttribute("aria-sort");
    });
  }

  table.tHead.addEventListener("click", (event) => {
    const th = event.target.closest("th[data-sort]");
    if (!th) return;
    const key = th.dataset.sort;
    if (sort.key === key) sort.dir = -sort.dir;
    else { sort.key = key; sort.dir = key === "symbol" ? 1 : -1; } // numbers: biggest first
    showSort();
    render();
  });

  // The filters live in the address too (?portfolio=GROWTH&symbol=AC), so a link or a reload keeps them.
  function readFilters() {
    const params = new URLSearchParams(location.search);
    const portfolio = params.get("portfolio") || "";
    if ([...portfolioFilter.options].some((o) => o.value === portfolio)) portfolioFilter.value = portfolio;
    symbolFilter.value = params.get("symbol") || "";
    hideFlat.checked = params.get("hide_flat") === "1";
  }
  function writeFilters() {
    const params = new URLSearchParams();
    if (portfolioFilter.value) params.set("portfolio", portfolioFilter.value);
    if (symbolFilter.value.trim()) params.set("symbol", symbolFilter.value.trim());
    if (hideFlat.checked) params.set("hide_flat", "1");
    const query = params.toString();
    history.replaceState(null, "", location.pathname + (query ? "?" + query : ""));
  }
  function onFilter() { writeFilters(); render(); }
  portfolioFilter.addEventListener("change", onFilter);
  symbolFilter.addEventListener("input", onFilter);
  hideFlat.addEventListener("change", onFilter);
  document.getElementById("pos-filters").addEventListener("submit", (event) => event.preventDefault());

  // ---- rendering --------------------------------------------------------------
  // Rows are kept by (portfolio, symbol) and updated in place, so a cell whose value changed can flash
  // (up or down) and a sort or a refresh keeps the rows the user is looking at.

  const state = { portfolios: [], positions: [], loaded: false };
  const groups = new Map(); // portfolio code -> { tbody, summary: {field: element}, rows: Map symbol -> tr, none }

  function flash(node, direction) {
    node.classList.remove("flash-up", "flash-down", "flash-same");
    void node.offsetWidth; // restart the animation
    node.classList.add(direction > 0 ? "flash-up" : direction < 0 ? "flash-down" : "flash-same");
  }

  // Set a cell (or a summary figure) and flash it when a value it showed before has changed: green for better,
  // red for worse (`costly`: more is worse, as fees), blue when it cannot say.
  function put(node, raw, text, cls, costly) {
    const before = node.dataset.raw;
    const now = raw == null ? "" : String(raw);
    node.textContent = text;
    node.className = cls || "";
    if (before !== undefined && before !== now) {
      const change = before !== "" && now !== "" && parseDec(before) && parseDec(now) ? decCmp(now, before) : 0;
      flash(node, costly ? -change : change);
    }
    node.dataset.raw = now;
  }

  function markCell(td, p) {
    const before = td.dataset.raw;
    const now = (p.mark == null ? "" : p.mark) + "|" + (p.mark_source || "");
    const source = p.mark_source === "LIVE" ? "LIVE" : p.mark_source === "REFERENCE" ? "REF" : "";
    td.replaceChildren(el("span", "mark-px", p.mark == null ? "—" : px(p.mark)));
    td.title = "";
    if (source) {
      const tag = el("span", "mark-src src-" + source.toLowerCase(), source);
      tag.title = source === "LIVE" ? "the live mid (an option's: its theoretical value)" : "the reference price: no live mid";
      td.append(" ", tag);
    } else {
      td.title = "no mark: no live mid and no reference price";
    }
    td.className = "num mark";
    if (before !== undefined && before !== now) {
      const [was] = before.split("|");
      flash(td, was && p.mark != null ? decCmp(p.mark, was) : 0);
    }
    td.dataset.raw = now;
  }

  function newGroup(code) {
    const tbody = el("tbody", "portfolio-group");
    tbody.dataset.portfolio = code;
    const tr = el("tr", "summary");
    tr.dataset.portfolio = code;
    tr.dataset.testid = "portfolio-summary";
    const th = el("th");
    th.scope = "rowgroup";
    th.colSpan = COLUMNS_N;
    const line = el("div", "summary-line");
    const head = el("span", "summary-name");
    const summary = { code: el("b", null, code), name: el("span", "dim") };
    head.append(summary.code, " ", summary.name);
    line.appendChild(head);
    [["cash", "Cash"], ["market_value", "Market value"], ["unrealized_pnl", "Unrealized"],
     ["realized_pnl", "Realized"], ["total_pnl", "Total P&L"], ["fees", "Fees"]].forEach(([field, label]) => {
      const item = el("span", "figure");
      item.dataset.field = field;
      if (field === "total_pnl") item.title = "realized + unrealized, fees apart";
      summary[field] = el("b");
      item.append(el("span", "label", label), " ", summary[field]);
      line.appendChild(item);
    });
    summary.note = el("span", "summary-note warn");
    line.appendChild(summary.note);
    th.appendChild(line);
    tr.appendChild(th);
    tbody.appendChild(tr);
    const none = el("tr", "none");
    none.appendChild(el("td", "dim", "")).colSpan = COLUMNS_N;
    return { tbody, summary, rows: new Map(), none };
  }

  function renderSummary(group, portfolio, positions) {
    const s = group.summary;
    s.name.textContent = portfolio ? portfolio.name : "";
    const sum = (field) => positions.reduce((total, p) => (p[field] == null ? total : decAdd(total, p[field])), "0");
    const unmarked = positions.filter((p) => p.market_value == null).length;
    const marketValue = sum("market_value");
    const unrealized = sum("unrealized_pnl");
    const realized = sum("realized_pnl");
    const total = decAdd(realized, unrealized);
    put(s.cash, portfolio ? portfolio.cash : null, portfolio ? money(portfolio.cash) + " " + portfolio.currency : "—");
    put(s.market_value, marketValue, money(marketValue));
    put(s.unrealized_pnl, unrealized, money(unrealized, true), pnlClass(unrealized));
    put(s.realized_pnl, realized, money(realized, true), pnlClass(realized));
    put(s.total_pnl, total, money(total, true), pnlClass(total));
    put(s.fees, sum("fees"), money(sum("fees")), "", true);
    s.note.textContent = unmarked ? "(" + unmarked + " unmarked: not in the market value or unrealized)" : "";
  }

  function renderRow(group, p) {
    let tr = group.rows.get(p.instrument);
    if (!tr) {
      tr = el("tr", "position");
      tr.dataset.symbol = p.instrument;
      tr.dataset.portfolio = p.portfolio;
      COLUMNS.forEach((c) => { tr.appendChild(el("td", c.cls)).dataset.col = c.key; });
      group.rows.set(p.instrument, tr);
    }
    tr.classList.toggle("flat", isFlat(p));
    tr.classList.toggle("short", sign(p.qty) < 0);
    COLUMNS.forEach((c, i) => {
      const td = tr.cells[i];
      if (c.key === "mark") markCell(td, p);
      else put(td, c.raw(p), c.text(p), c.cls + (c.pnl ? " " + pnlClass(c.raw(p)) : ""), c.costly);
    });
    return tr;
  }

  function render() {
    if (!state.loaded) return;
    const onlyPortfolio = portfolioFilter.value;
    const symbol = symbolFilter.value.trim().toUpperCase();
    const byCode = new Map(state.portfolios.map((p) => [p.code, p]));
    const codes = [...new Set([...byCode.keys(), ...state.positions.map((p) => p.portfolio)])].sort();
    const shown = codes.filter((code) => !onlyPortfolio || code === onlyPortfolio);
    const wanted = new Set(shown);

    for (const [code, group] of groups) {
      if (!wanted.has(code)) { group.tbody.remove(); groups.delete(code); }
    }
    let previous = table.tHead;
    shown.forEach((code) => {
      let group = groups.get(code);
      if (!group) { group = newGroup(code); groups.set(code, group); }
      if (previous.nextElementSibling !== group.tbody) previous.after(group.tbody);
      previous = group.tbody;

      const all = state.positions.filter((p) => p.portfolio === code);
      renderSummary(group, byCode.get(code), all);
      const rows = all
        .filter((p) => !symbol || p.instrument.toUpperCase().includes(symbol))
        .filter((p) => !(hideFlat.checked && isFlat(p)))
        .sort(compare);
      const keep = new Set(rows.map((p) => p.instrument));
      for (const [key, tr] of group.rows) {
        if (!keep.has(key)) { tr.remove(); group.rows.delete(key); }
      }
      let after = group.tbody.rows[0]; // the summary line
      rows.forEach((p) => {
        const tr = renderRow(group, p);
        if (after.nextElementSibling !== tr) after.after(tr); // move only what moved: a moved cell restarts its flash
        after = tr;
      });
      group.none.cells[0].textContent = all.length ? "No position matches the filter." : "No positions.";
      if (rows.length) group.none.remove();
      else if (after.nextElementSibling !== group.none) after.after(group.none);
    });
    empty.hidden = shown.length > 0;
  }

  // ---- loading ----------------------------------------------------------------

  function path(url) {
    const u = new URL(url, location.href); // DRF's `next` is absolute: keep this page's origin and scheme
    return u.pathname + u.search;
  }
  // Every page of a list (the API pages by 100 unless asked; 1000 at most).
  async function getAll(url) {
    const results = [];
    let next = url;
    while (next) {
      const body = await getJson(next);
      if (Array.isArray(body)) return body;
      results.push(...body.results);
      next = body.next ? path(body.next) : null;
    }
    return results;
  }

  const refresh = {
    inFlight: false,
    again: false, // asked for while a request was in flight: run once it ends
    cash: true, // the next run fetches the portfolios (cash) too: a fill moved it
    timer: null, // the debounce
  };

  function scheduleRefresh(cash) {
    refresh.cash = refresh.cash || cash;
    if (refresh.timer != null) return;
    refresh.timer = setTimeout(() => { refresh.timer = null; runRefresh(); }, REFRESH_MS);
  }

  async function runRefresh() {
    if (refresh.inFlight) { refresh.again = true; return; }
    refresh.inFlight = true;
    const cash = refresh.cash || !state.loaded;
    refresh.cash = false;
    table.setAttribute("aria-busy", "true");
    try {
      const [positions, portfolios] = await Promise.all([
        getAll("/api/positions/?limit=1000"),
        cash ? getAll("/api/portfolios/?limit=1000") : Promise.resolve(null),
      ]);
      state.positions = positions;
      if (portfolios) state.portfolios = portfolios;
      state.loaded = true;
      loading.hidden = true;
      showError(null);
      render();
      updated.textContent = "as of " + time(new Date().toISOString());
    } catch (error) {
      if (cash) refresh.cash = true; // the cash was not read: read it next time
      showError("Could not load positions: " + (error.message || error));
    } finally {
      refresh.inFlight = false;
      table.removeAttribute("aria-busy");
      if (refresh.again) { refresh.again = false; runRefresh(); }
    }
  }

  function showError(message) {
    errorBox.hidden = message == null;
    errorText.textContent = message == null ? "" : message;
    table.classList.toggle("stale", message != null && state.loaded);
    if (message != null && !state.loaded) loading.textContent = "Not loaded.";
  }
  document.getElementById("pos-retry").addEventListener("click", () => { refresh.cash = true; runRefresh(); });

  // Re-mark: no message says a mark moved, so ask every REMARK_MS, but only while someone can see the page.
  setInterval(() => {
    if (document.visibilityState === "visible" && !refresh.inFlight && refresh.timer == null) runRefresh();
  }, REMARK_MS);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") { refresh.cash = true; runRefresh(); }
  });

  // ---- the websocket (as the blotter's: backoff, and a reload on every (re)connect) ----

  function connect() {
    window.api.live("/ws/blotter/", {
      indicator: live,
      onOpen() {
        // (re)connected: fills booked while away are only in the database
        refresh.cash = true;
        runRefresh();
      },
      onMessage(msg) {
        if (msg.type === "fill") scheduleRefresh(true); // the position, its P&L and the cash moved
      },
    });
  }

  readFilters();
  showSort();
  runRefresh(); // at once: the page does not wait for the socket (its open reloads again)
  connect();
})();
