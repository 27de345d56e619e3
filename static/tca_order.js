// An order's transaction cost analysis: GET /api/orders/<id>/tca/ (ems.tca.order_tca_report), drawn as the
// header, the order-level figures, the shortfall's parts as bars and one row per fill. Each figure's title is
// its definition, read from the page's glossary (<dl id="tca-glossary">, one <dd data-term> per metric), so
// the hover text and the definitions below never disagree. Reloaded every RELOAD_MS while the order works and
// the tab is visible. Decimals stay the API's strings (window.fmt formats them); bar widths are the only
// place a number is parsed, for drawing. Every piece of data reaches the page through textContent.
"use strict";
(function () {
  const { qty, px, el } = window.fmt;
  const { getJson } = window.api;
  const page = document.getElementById("tca-page");
  const url = page.dataset.url;
  const header = document.getElementById("tca-header");
  const none = document.getElementById("tca-none");
  const figures = document.getElementById("tca-figures");
  const bars = document.getElementById("tca-bars").tBodies[0];
  const fillsTable = document.getElementById("tca-fills");
  const fillsHead = document.getElementById("tca-fills-head");
  const noFills = document.getElementById("tca-no-fills");
  const updated = document.getElementById("tca-updated");
  const errorBox = document.getElementById("tca-error");
  const errorText = document.getElementById("tca-error-text");
  const RELOAD_MS = 5000;
  const TERMINAL = new Set(["FILLED", "CANCELED", "REJECTED", "EXPIRED"]);

  // ---- definitions: the glossary is the one source ----

  function definition(term) {
    const dd = document.querySelector('#tca-glossary dd[data-term="' + term + '"]');
    return dd ? dd.textContent.replace(/\s+/g, " ").trim() : "";
  }

  function defined(node, term) {
    const text = definition(term);
    if (text) node.title = text;
    return node;
  }

  // ---- formatting ----

  // bps as the API gives them (0.01 bps; a fill's markout 0.0001), at least two places: "-1.5" -> "-1.50"
  function signed(v) { return px(String(v)); }
  function bps(v) { return v == null ? "—" : signed(v) + " bps"; }
  function share(v) {
    // a fraction "0.1234" as "12.34%", exactly: shift the decimal point two places
    if (v == null) return "—";
    const negative = String(v).startsWith("-");
    const [whole, frac = ""] = String(v).replace("-", "").split(".");
    const digits = (whole + (frac + "0000").slice(0, 4)).replace(/^0+(?=\d{3})/, "");
    const units = digits.padStart(3, "0");
    return (negative ? "-" : "") + units.slice(0, -2) + "." + units.slice(-2) + "%";
  }
  function sign(v) { return v == null ? 0 : /^-/.test(String(v)) ? -1 : /[1-9]/.test(String(v)) ? 1 : 0; }
  function costClass(v) { return sign(v) > 0 ? "cost" : sign(v) < 0 ? "gain" : ""; }
  function goodClass(v) { return sign(v) > 0 ? "gain" : sign(v) < 0 ? "cost" : ""; } // markouts: positive is good
  function dash(text) { return text == null || text === "" ? "—" : text; }
  function time(iso) { return iso ? new Date(iso).toLocaleTimeString() : "—"; }

  // ---- the header ----

  function renderHeader(r) {
    const parts = [
      ["Order", "#" + r.order],
      ["Side", r.side],
      ["Qty", qty(r.qty)],
      ["Instrument", r.symbol],
      ["Portfolio", r.portfolio],
      ["Status", r.status],
      ["Strategy", r.strategy == null ? "—" : r.strategy + (r.base_strategy && r.base_strategy !== r.strategy ? " (from " + r.base_strategy + ")" : "")],
      ["Filled", qty(r.filled_qty) + " / " + qty(r.qty)],
      ["Avg px", r.avg_px == null ? "—" : px(r.avg_px)],
      ["Limit", r.limit_px == null ? "market" : px(r.limit_px)],
    ];
    header.replaceChildren(...parts.map(([label, value]) => {
      const figure = el("span", "figure");
      figure.append(el("span", "label", label + " "), el("b", label === "Side" ? String(value).toLowerCase() : null, value));
      return figure;
    }));
  }

  // ---- the order-level figures ----

  function figure(term, label, value, cls) {
    const box = el("div");
    box.dataset.term = term;
    const dt = defined(el("dt", null, label), term);
    const dd = defined(el("dd", cls || null, value), term);
    box.append(dt, dd);
    return box;
  }

  function renderFigures(t) {
    const liq = t.liquidity || {};
    const rows = [
      figure("decision_px", "Decision price", px(t.decision_px)),
      figure("arrival_mid", "Arrival mid", px(t.arrival_mid)),
      figure("arrival_px", "Arrival price (last trade)", t.arrival_px == null ? "—" : px(t.arrival_px)),
      figure("end_mid", "Mark now", px(t.end_mid) + " (" + String(t.end_mid_source || "").toLowerCase() + ")"),
      figure("avg_px", "Avg px", t.avg_px == null ? "—" : px(t.avg_px)),
      figure("shortfall_bps", "Implementation shortfall", bps(t.shortfall_bps), costClass(t.shortfall_bps)),
      figure("arrival_slippage_bps", "Arrival slippage", bps(t.arrival_slippage_bps), costClass(t.arrival_slippage_bps)),
      figure("interval_vwap", "Interval VWAP", t.interval_vwap == null ? "—" : px(t.interval_vwap)),
      figure("interval_vwap_slippage_bps", "Interval VWAP slippage", bps(t.interval_vwap_slippage_bps),
        costClass(t.interval_vwap_slippage_bps)),
      figure("interval_volume", "Interval volume", t.interval_volume == null ? "—" : qty(t.interval_volume)),
      figure("participation", "Participation", share(t.participation)),
      figure("liquidity", "Liquidity added", qty(liq.added_qty) + " (" + share(liq.added_share) + ")"),
      figure("liquidity", "Liquidity removed", qty(liq.removed_qty) + " (" + share(liq.removed_share) + ")"),
      figure("liquidity", "Other (RFQ, unknown)", qty(liq.other_qty) + " (" + share(liq.other_share) + ")"),
      figure("effective_spread_bps", "Effective spread", bps(t.effective_spread_bps), costClass(t.effective_spread_bps)),
    ];
    const horizons = Object.keys(t.realized_spread_bps || {});
    horizons.forEach((h) => {
      const v = t.realized_spread_bps[h];
      rows.push(figure("realized_spread_bps", "Realized spread " + h + " s", bps(v), costClass(v)));
    });
    Object.entries(t.markouts_bps || {}).forEach(([h, v]) => {
      rows.push(figure("markouts_bps", "Markout " + h + " s", bps(v), goodClass(v)));
    });
    figures.replaceChildren(...rows);
  }

  // ---- the shortfall's parts, as bars ----

  const PARTS = [
    ["delay_bps", "Delay"],
    ["impact_bps", "Impact"],
    ["timing_bps", "Timing"],
    ["opportunity_bps", "Opportunity"],
    ["fees_bps", "Fees"],
  ];

  function barRow(term, label, value, largest, cls) {
    const tr = el("tr", cls || null);
    tr.dataset.term = term;
    const track = el("td", "track");
    const magnitude = Math.abs(Number(value));
    if (largest > 0 && magnitude > 0) {
      const bar = el("span", sign(value) > 0 ? "cost" : "gain");
      bar.style.width = (50 * magnitude / largest).toFixed(2) + "%"; // half the track each way
      track.appendChild(bar);
    }
    tr.append(defined(el("th", null, label), term), track, defined(el("td", "num " + costClass(value), bps(value)), term));
    return tr;
  }

  function renderBars(t) {
    const values = PARTS.map(([key]) => t[key]).concat([t.shortfall_bps]);
    const largest = Math.max(0, ...values.map((v) => Math.abs(Number(v)) || 0));
    bars.replaceChildren(
      ...PARTS.map(([key, label]) => barRow(key, label, t[key], largest)),
      barRow("shortfall_bps", "Total", t.shortfall_bps, largest, "total"),
    );
  }

  // ---- the fills ----

  function headColumns(horizons) {
    fillsHead.querySelectorAll("th.horizon").forEach((th) => th.remove());
    horizons.forEach((h) => {
      fillsHead.appendChild(defined(el("th", "num horizon", "Markout " + h + " s"), "markouts_bps"));
    });
    horizons.forEach((h) => {
      fillsHead.appendChild(defined(el("th", "num horizon", "Realized " + h + " s"), "realized_spread_bps"));
    });
  }

  function cell(text, cls) { return el("td", cls || null, text); }

  function renderFills(fills, horizons) {
    headColumns(horizons);
    const body = fillsTable.tBodies[0];
    body.replaceChildren(...fills.map((f) => {
      const tr = el("tr");
      tr.dataset.fill = String(f.id);
      tr.append(
        cell(time(f.executed_at)),
        cell(f.venue),
        cell(qty(f.qty), "num"),
        cell(px(f.px), "num"),
        cell(px(f.fee), "num"),
        cell(dash(f.liquidity)),
        cell(f.mid_px == null ? "—" : px(f.mid_px), "num"),
        cell(f.effective_spread_bps == null ? "—" : signed(f.effective_spread_bps), "num " + costClass(f.effective_spread_bps)),
      );
      horizons.forEach((h) => {
        const v = (f.markouts_bps || {})[h];
        tr.appendChild(cell(v == null ? "—" : signed(v), "num " + goodClass(v)));
      });
      horizons.forEach((h) => {
        const v = (f.realized_spread_bps || {})[h];
        tr.appendChild(cell(v == null ? "—" : signed(v), "num " + costClass(v)));
      });
      return tr;
    }));
    noFills.hidden = fills.length > 0;
  }

  // ---- loading ----

  let timer = null;
  let working = true;

  function showError(message) {
    errorBox.hidden = message == null;
    errorText.textContent = message || "";
  }

  async function load() {
    clearTimeout(timer);
    try {
      const r = await getJson(url);
      showError(null);
      renderHeader(r);
      none.hidden = r.tca != null;
      if (r.tca) {
        renderFigures(r.tca);
        renderBars(r.tca);
      } else {
        figures.replaceChildren();
        bars.replaceChildren();
      }
      const horizons = (r.horizons_s || []).map(String);
      renderFills(r.fills || [], horizons);
      updated.textContent = "as of " + time(r.as_of);
      working = !TERMINAL.has(r.status);
    } catch (error) {
      showError("Could not load the analysis: " + error.message);
    }
    if (working) schedule();
  }

  // a hidden tab waits; it reloads when shown (visibilitychange)
  function schedule() { timer = setTimeout(() => { if (!document.hidden) load(); }, RELOAD_MS); }

  document.getElementById("tca-reload").addEventListener("click", load);
  document.getElementById("tca-retry").addEventListener("click", load);
  document.addEventListener("visibilitychange", () => { if (!document.hidden && working) load(); });
  load();
})();
