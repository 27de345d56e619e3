// The live market view for one symbol: NBBO, consolidated ladder, each venue's book, the trades tape.
// Every (re)connect starts from the server's snapshot; updates carry `seq`, so one the snapshot already
// holds is dropped, and a gap or a step back (a lost update, a reset cache) forces a resync.
"use strict";
(function () {
  const root = document.getElementById("market");
  if (!root) return;
  const symbol = root.dataset.symbol;
  const live = document.getElementById("live");
  const ladderBody = document.querySelector("#ladder tbody");
  const tapeBody = document.querySelector("#tape tbody");
  const venueBooks = document.getElementById("venue-books");
  const warning = document.getElementById("md-warning");
  const LADDER_LEVELS = 10;
  const VENUE_LEVELS = 5;
  const TAPE_ROWS = 100;

  let state = { seq: -1, books: [], consolidated: null, trades: [] };
  let freshSnapshot = false; // true until the first update after a snapshot is applied
  let socket = null;
  let retryMs = 500;
  let renderQueued = false;

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text != null) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }
  function cell(text, cls) { return el("td", text == null ? "" : text, cls); }
  function setText(id, text) { document.getElementById(id).textContent = text; }
  const { qty, px, time } = window.fmt;
  function breakdown(venues) {
    return Object.entries(venues || {}).map(([venue, q]) => venue + " " + qty(q)).join(" · ");
  }

  function renderHeader(c) {
    const none = "–";
    setText("nbbo-bid", c && c.bid_px != null ? px(c.bid_px) + " × " + qty(c.bid_qty) : none);
    setText("nbbo-ask", c && c.ask_px != null ? px(c.ask_px) + " × " + qty(c.ask_qty) : none);
    setText("nbbo-bid-venues", c ? c.bid_venues.join(" ") : "");
    setText("nbbo-ask-venues", c ? c.ask_venues.join(" ") : "");
    setText("nbbo-mid", c && c.mid != null ? px(c.mid) : none);
    setText("nbbo-spread", c && c.spread != null ? px(c.spread) : none);
    setText("md-updated", c && c.ts ? "as of " + time(c.ts) : "no data yet");
    const flag = c && c.crossed ? "CROSSED" : c && c.locked ? "LOCKED" : "";
    warning.textContent = flag ? "Market " + flag.toLowerCase() + ": best bid " + (c.crossed ? ">" : "=") + " best ask" : "";
    warning.hidden = !flag;
  }

  // A bar behind a quantity cell shows its size against the largest level on screen.
  function depthCell(text, size, max, side) {
    const td = cell(qty(text), "num depth depth-" + side);
    const pct = max > 0 ? Math.min(100, (100 * size) / max) : 0;
    td.style.setProperty("--depth", pct.toFixed(1) + "%");
    return td;
  }

  function renderLadder(c) {
    const bids = c ? c.bids : [];
    const asks = c ? c.asks : [];
    const max = Math.max(0, ...bids.map((l) => Number(l.qty)), ...asks.map((l) => Number(l.qty)));
    const rows = [];
    for (let i = 0; i < LADDER_LEVELS; i++) {
      const b = bids[i];
      const a = asks[i];
      const tr = el("tr");
      if (i === 0) tr.className = "touch";
      [b ? cell(breakdown(b.venues), "venues") : cell(""), cell(b ? b.orders : "", "num dim"),
       b ? depthCell(b.qty, Number(b.qty), max, "buy") : cell("", "num"), cell(b ? px(b.px) : "", "num buy"),
       cell(a ? px(a.px) : "", "num sell"), a ? depthCell(a.qty, Number(a.qty), max, "sell") : cell("", "num"),
       cell(a ? a.orders : "", "num dim"), a ? cell(breakdown(a.venues), "venues") : cell("")]
        .forEach((td) => tr.appendChild(td));
      rows.push(tr);
    }
    ladderBody.replaceChildren(...rows);
  }

  function renderVenue(book) {
    const card = el("div", null, "venue-book state-" + book.state.toLowerCase());
    const head = el("div", null, "venue-head");
    head.append(el("b", book.venue), el("span", book.state, "state"), el("span", time(book.ts), "scope"));
    const table = el("table", null, "grid");
    const thead = el("thead");
    const hr = el("tr");
    ["Orders", "Bid qty", "Bid", "Ask", "Ask qty", "Orders"].forEach((h) => hr.appendChild(el("th", h, "num")));
    thead.appendChild(hr);
    const tbody = el("tbody");
    const depth = Math.max(Math.min(VENUE_LEVELS, Math.max(book.bids.length, book.asks.length)), 1);
    for (let i = 0; i < depth; i++) {
      const b = book.bids[i];
      const a = book.asks[i];
      const tr = el("tr");
      [cell(b ? b[2] : "", "num dim"), cell(b ? qty(b[1]) : "", "num"), cell(b ? px(b[0]) : "", "num buy"),
       cell(a ? px(a[0]) : "", "num sell"), cell(a ? qty(a[1]) : "", "num"), cell(a ? a[2] : "", "num dim")]
        .forEach((td) => tr.appendChild(td));
      tbody.appendChild(tr);
    }
    table.append(thead, tbody);
    card.append(head, table);
    return card;
  }

  function tradeRow(t) {
    const side = t.aggressor ? t.aggressor.toLowerCase() : "none";
    const tr = el("tr", null, "side-" + side);
    [cell(time(t.ts)), cell(t.venue), cell(t.aggressor || "–", "side"), cell(qty(t.qty), "num"), cell(px(t.px), "num")]
      .forEach((td) => tr.appendChild(td));
    return tr;
  }

  function render() {
    renderQueued = false;
    renderHeader(state.consolidated);
    renderLadder(state.consolidated);
    venueBooks.replaceChildren(...state.books.map(renderVenue));
    if (!state.books.length) venueBooks.appendChild(el("p", "No venue has published " + symbol + " yet.", "scope"));
  }
  // Updates can come in bursts; draw at most once a frame.
  function scheduleRender() {
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(render);
  }

  function applySnapshot(msg) {
    state = { seq: msg.seq, books: msg.books, consolidated: msg.consolidated, trades: msg.trades.slice(0, TAPE_ROWS) };
    freshSnapshot = true;
    tapeBody.replaceChildren(...state.trades.map(tradeRow));
    scheduleRender();
  }

  function applyUpdate(msg) {
    if (msg.seq <= state.seq && freshSnapshot) return; // queued before the snapshot, which holds it
    if (msg.seq !== state.seq + 1) {
      resync(); // lost updates, or a reset cache: start again from a snapshot
      return;
    }
    freshSnapshot = false;
    state.seq = msg.seq;
    state.books = msg.books;
    state.consolidated = msg.consolidated;
    const rows = msg.trades.map(tradeRow); // latest first
    tapeBody.prepend(...rows);
    rows.forEach((tr) => tr.classList.add("flash"));
    while (tapeBody.rows.length > TAPE_ROWS) tapeBody.lastElementChild.remove();
    scheduleRender();
  }

  // Drop the current socket (and anything still in flight on it) and connect again for a snapshot.
  function resync() {
    const ws = socket;
    socket = null;
    if (ws) { ws.onmessage = null; ws.onclose = null; ws.close(); }
    live.textContent = "resyncing…";
    live.className = "live off";
    setTimeout(connect, 250);
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(scheme + "://" + location.host + "/ws/market/" + encodeURIComponent(symbol) + "/");
    socket = ws;
    ws.onopen = () => {
      retryMs = 500;
      live.textContent = "live";
      live.className = "live on";
    };
    ws.onmessage = (event) => {
      if (ws !== socket) return;
      const msg = JSON.parse(event.data);
      if (msg.type === "snapshot") applySnapshot(msg);
      if (msg.type === "update") applyUpdate(msg);
    };
    ws.onclose = (event) => {
      if (ws !== socket) return;
      socket = null;
      live.textContent = event.code === 4401 ? "logged out" : "reconnecting…";
      live.className = "live off";
      if (event.code === 4401 || event.code === 4404) return; // retrying cannot help
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 10000);
    };
  }
  render();
  connect();
})();
