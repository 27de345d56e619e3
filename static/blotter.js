// The live blotter: loads orders and fills over REST, then applies websocket updates.
// On reconnect it reloads, so nothing published while it was away is missed.
"use strict";
(function () {
  const ordersBody = document.querySelector("#orders tbody");
  const fillsBody = document.querySelector("#fills tbody");
  const live = document.getElementById("live");
  const orderRows = new Map();
  const fillIds = new Set();
  let retryMs = 500;

  function cell(text, cls) {
    const td = document.createElement("td");
    td.textContent = text == null ? "" : text;
    if (cls) td.className = cls;
    return td;
  }
  const { qty, px, time } = window.fmt;
  function progress(o) {
    const td = document.createElement("td");
    const bar = document.createElement("div");
    bar.className = "progress";
    const fill = document.createElement("span");
    const pct = Number(o.qty) > 0 ? Math.min(100, (100 * Number(o.filled_qty)) / Number(o.qty)) : 0;
    fill.style.width = pct.toFixed(1) + "%";
    bar.title = pct.toFixed(1) + "% filled";
    bar.appendChild(fill);
    td.appendChild(bar);
    return td;
  }

  function upsertOrder(o) {
    const tr = document.createElement("tr");
    tr.dataset.id = o.id;
    tr.className = "status-" + o.status.toLowerCase() + " side-" + o.side.toLowerCase();
    [cell(o.id), cell(time(o.created_at)), cell(o.portfolio), cell(o.instrument), cell(o.side, "side"),
     cell(qty(o.qty), "num"), cell(o.ord_type), cell(px(o.limit_px), "num"), cell(o.status.replace("_", " "), "status"),
     cell(qty(o.filled_qty), "num"), progress(o), cell(Number(o.filled_qty) > 0 ? px(o.avg_px) : "", "num")]
      .forEach((td) => tr.appendChild(td));
    const old = orderRows.get(o.id);
    if (old) { old.replaceWith(tr); } else { ordersBody.prepend(tr); }
    orderRows.set(o.id, tr);
    tr.classList.add("flash");
  }

  function addFill(f) {
    if (fillIds.has(f.id)) return;
    fillIds.add(f.id);
    const tr = document.createElement("tr");
    tr.dataset.id = f.id;
    [cell(time(f.executed_at)), cell(f.parent), cell(f.venue), cell(f.side, "side"), cell(qty(f.qty), "num"),
     cell(px(f.px), "num"), cell(px(f.fee), "num"), cell(f.liquidity), cell(f.exec_id, "mono")]
      .forEach((td) => tr.appendChild(td));
    tr.className = "side-" + f.side.toLowerCase() + " flash";
    fillsBody.prepend(tr);
  }

  async function load() {
    const [orders, fills] = await Promise.all([
      fetch("/api/orders/?limit=200", { credentials: "same-origin" }).then((r) => r.json()),
      fetch("/api/fills/?limit=200", { credentials: "same-origin" }).then((r) => r.json()),
    ]);
    orders.results.slice().reverse().forEach(upsertOrder);
    fills.results.slice().reverse().forEach(addFill);
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(scheme + "://" + location.host + "/ws/blotter/");
    ws.onopen = () => {
      retryMs = 500;
      live.textContent = "live";
      live.className = "live on";
      load().catch((e) => console.error("blotter load failed", e));
    };
    ws.onmessage = (event) => {
      const msg = JSON.parse(event.data);
      if (msg.type === "order") upsertOrder(msg.order);
      if (msg.type === "fill") { addFill(msg.fill); upsertOrder(msg.order); }
    };
    ws.onclose = () => {
      live.textContent = "reconnecting…";
      live.className = "live off";
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 10000);
    };
  }
  connect();
})();
