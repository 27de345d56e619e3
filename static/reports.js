// The best-execution page: a period and a class, then three reports from the API (RTS 28 per class, venue
// analysis, dealer scorecards), each with its chart (plain DOM bars, no library) and its export links.
// Decimals stay strings; they are parsed as numbers only to size a bar on screen. Data reaches the page as text.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const el = window.fmt.el;
  const DAY_MS = 86400000;

  // Dates are UTC days, as the API reads them: "YYYY-MM-DD".
  function iso(ms) { return new Date(ms).toISOString().slice(0, 10); }
  function ms(text) { const [y, m, d] = text.split("-").map(Number); return Date.UTC(y, m - 1, d); }
  function today() { return iso(Date.now()); }

  // [first day, last day], both included, for a preset.
  function presetRange(preset) {
    const t = today();
    const [y, m] = t.split("-").map(Number);
    const q = Math.floor((m - 1) / 3) * 3; // the quarter's first month, 0-based
    if (preset === "today") return [t, t];
    if (preset === "month") return [iso(Date.UTC(y, m - 1, 1)), t];
    if (preset === "last-quarter") return [iso(Date.UTC(y, q - 3, 1)), iso(Date.UTC(y, q, 1) - DAY_MS)];
    return [iso(Date.UTC(y, q, 1)), t];
  }

  function query() {
    const params = new URLSearchParams();
    params.set("start", $("rep-start").value);
    params.set("end", iso(ms($("rep-last").value) + DAY_MS)); // the API's end is exclusive
    if ($("rep-class").value) params.set("asset_class", $("rep-class").value);
    return params;
  }

  function exportLinks(params) {
    document.querySelectorAll("a[data-report]").forEach((a) => {
      const p = new URLSearchParams(params);
      if (a.dataset.report === "dealers") p.delete("asset_class");
      p.set("format", a.dataset.format);
      a.href = "/api/reports/" + a.dataset.report + "/?" + p.toString();
    });
  }

  const text = (value, suffix) => (value == null || value === "" ? "–" : String(value) + (suffix || ""));
  function cell(row, value, cls, title) {
    const td = el("td", cls, value);
    if (title) td.title = title;
    row.appendChild(td);
    return td;
  }

  // A horizontal bar per item: label, a bar as wide as its share (0..100), the share as text.
  function hbars(container, items) {
    container.replaceChildren();
    items.forEach(({ label, pct, kind }) => {
      const line = el("div", "hbar" + (kind ? " kind-" + kind.toLowerCase() : ""));
      line.appendChild(el("span", "hbar-label", label));
      const track = el("span", "hbar-track");
      const fill = el("span", "hbar-fill");
      fill.style.width = Math.max(0, Math.min(100, Number(pct))) + "%";
      track.appendChild(fill);
      line.appendChild(track);
      line.appendChild(el("span", "hbar-value", text(pct, "%")));
      container.appendChild(line);
    });
  }

  // --- RTS 28 -------------------------------------------------------------------------------------------------
  function renderRts(data) {
    const box = $("rts28-tables");
    box.replaceChildren();
    $("rts28-empty").hidden = data.classes.length > 0;
    data.classes.forEach((table) => {
      const section = el("section", "rts-class");
      section.dataset.assetClass = table.asset_class;
      section.appendChild(el("h3", null, table.asset_class + " · notional " + window.fmt.qty(table.notional) + " · "
        + table.orders + " orders · " + table.trades + " trades · " + table.business_days + " business days"));
      const chart = el("div", "hbars");
      hbars(chart, table.venues.map((v) => ({ label: v.name + " (" + v.code + ")", pct: v.volume_pct, kind: v.kind })));
      section.appendChild(chart);
      const grid = el("table", "grid reports");
      const head = el("tr");
      [
        ["#", "rank by notional in the class"],
        ["Venue", "name and code"],
        ["% of volume", "its notional as % of the class's notional"],
        ["% of orders", "its orders executed (children or RFQ hits with a fill there) as % of the class's"],
        ["% passive", "of its orders executed, those whose first fill added liquidity"],
        ["% aggressive", "of its orders executed, those whose first fill removed liquidity"],
        ["% directed", "of its orders executed, those at a venue a person chose: an RFQ to dealers the trader or PM named"],
        ["< 1 trade/day", "Y: fewer fills than business days in the period"],
      ].forEach(([label, title], i) => {
        const th = el("th", i >= 2 ? "num" : null, label);
        th.title = title;
        head.appendChild(th);
      });
      const thead = el("thead");
      thead.appendChild(head);
      grid.appendChild(thead);
      const body = el("tbody");
      table.venues.forEach((v) => {
        const tr = el("tr");
        cell(tr, v.rank);
        cell(tr, v.name + " (" + v.code + ")", null, v.kind);
        cell(tr, text(v.volume_pct), "num");
        cell(tr, text(v.orders_pct), "num");
        cell(tr, text(v.passive_pct), "num");
        cell(tr, text(v.aggressive_pct), "num");
        cell(tr, text(v.directed_pct), "num");
        cell(tr, v.below_one_trade_per_day ? "Y" : "N", "num");
        body.appendChild(tr);
      });
      grid.appendChild(body);
      section.appendChild(grid);
      box.appendChild(section);
    });
  }

  // --- venues -------------------------------------------------------------------------------------------------
  function renderVenues(data) {
    const body = $("venues-table").tBodies[0];
    body.replaceChildren();
    $("venues-empty").hidden = data.venues.length > 0;
    let kind = null;
    data.venues.forEach((v) => {
      if (v.kind !== kind) { // lit, dark and dealers apart
        kind = v.kind;
        const sep = el("tr", "kind-row");
        const th = el("th", null, { LIT: "Lit venues", DARK: "Dark pools", RFQ_DEALER: "RFQ dealers" }[kind] || kind);
        th.colSpan = 15;
        sep.appendChild(th);
        body.appendChild(sep);
      }
      const tr = el("tr");
      tr.dataset.venue = v.code;
      cell(tr, v.name + " (" + v.code + ")");
      cell(tr, v.kind);
      cell(tr, window.fmt.qty(v.notional), "num");
      cell(tr, text(v.volume_share_pct), "num");
      cell(tr, v.fills, "num");
      cell(tr, text(v.fill_rate_pct), "num", v.children + " children");
      cell(tr, text(v.reject_rate_pct), "num", v.rejects + " rejected");
      cell(tr, text(v.passive_pct), "num");
      cell(tr, text(v.aggressive_pct), "num");
      cell(tr, text(v.effective_spread_bps), "num", v.spread_fills + " fills with a mid");
      v.markouts.forEach((m) => {
        const td = cell(tr, text(m.bps), "num", m.fills + " fills measured");
        if (m.bps != null && Number(m.bps) < 0) td.classList.add("adverse");
      });
      cell(tr, text(v.latency_ms_mean), "num", v.acks + " acknowledged; median " + text(v.latency_ms_median));
      body.appendChild(tr);
    });
    hbars($("venues-share-chart"), data.venues.filter((v) => v.fills > 0)
      .map((v) => ({ label: v.code, pct: v.volume_share_pct, kind: v.kind })));
    renderMarkouts(data.venues.filter((v) => v.fills > 0));
  }

  // Markouts by horizon: per venue a row of four signed bars around a zero line, scaled to the largest |bps|.
  function renderMarkouts(venues) {
    const box = $("venues-markout-chart");
    box.replaceChildren();
    const values = venues.flatMap((v) => v.markouts.map((m) => (m.bps == null ? 0 : Math.abs(Number(m.bps)))));
    const scale = Math.max(1, ...values);
    const head = el("div", "mo-row mo-head");
    head.appendChild(el("span", "mo-label", ""));
    (venues[0] ? venues[0].markouts : []).forEach((m) => head.appendChild(el("span", "mo-cell", m.horizon_s + " s")));
    box.appendChild(head);
    venues.forEach((v) => {
      const row = el("div", "mo-row");
      row.appendChild(el("span", "mo-label", v.code));
      v.markouts.forEach((m) => {
        const c = el("span", "mo-cell");
        c.title = v.code + " " + m.horizon_s + " s: " + text(m.bps, " bps");
        const bar = el("span", "mo-bar " + (m.bps != null && Number(m.bps) < 0 ? "neg" : "pos"));
        bar.style.width = (m.bps == null ? 0 : (Math.abs(Number(m.bps)) / scale) * 50) + "%";
        c.appendChild(bar);
        c.appendChild(el("span", "mo-value", text(m.bps)));
        row.appendChild(c);
      });
      box.appendChild(row);
    });
  }

  // --- dealers ------------------------------------------------------------------------------------------------
  function renderDealers(data) {
    const body = $("dealers-table").tBodies[0];
    body.replaceChildren();
    $("dealers-empty").hidden = data.dealers.length > 0;
    data.dealers.forEach((d) => {
      const tr = el("tr");
      tr.dataset.dealer = d.code;
      cell(tr, d.name + " (" + d.code + ")");
      cell(tr, d.requests, "num");
      cell(tr, text(d.response_rate_pct), "num", d.responses + " quoted");
      cell(tr, text(d.win_ratio_pct), "num", d.wins + " won");
      cell(tr, text(d.avg_cover_bps), "num", d.covers + " covers");
      cell(tr, text(d.avg_distance_bps), "num", d.distances + " with a mid");
      cell(tr, text(d.last_look_reject_pct), "num", d.last_look_rejects + " of " + d.last_looks + " last looks");
      cell(tr, text(d.avg_markout_bps), "num", d.markouts + " measured");
      body.appendChild(tr);
    });
  }

  let loading = null;
  async function load() {
    if (loading) loading.abort();
    loading = new AbortController();
    const params = query();
    exportLinks(params);
    $("rep-period-shown").textContent = $("rep-start").value + " to " + $("rep-last").value
      + ($("rep-class").value ? " · " + $("rep-class").value : "");
    const dealerParams = new URLSearchParams(params);
    dealerParams.delete("asset_class");
    try {
      const [rts, venues, dealers] = await Promise.all([
        window.api.getJson("/api/reports/best-execution/?" + params, loading.signal),
        window.api.getJson("/api/reports/venues/?" + params, loading.signal),
        window.api.getJson("/api/reports/dealers/?" + dealerParams, loading.signal),
      ]);
      $("rep-error").hidden = true;
      renderRts(rts);
      renderVenues(venues);
      renderDealers(dealers);
      document.body.dataset.reportsLoaded = "1";
    } catch (err) {
      if (err.name === "AbortError") return;
      $("rep-error-text").textContent = err.message;
      $("rep-error").hidden = false;
    }
  }

  function applyPreset() {
    const preset = $("rep-preset").value;
    const custom = preset === "custom";
    $("rep-start").disabled = !custom;
    $("rep-last").disabled = !custom;
    if (!custom) [$("rep-start").value, $("rep-last").value] = presetRange(preset);
  }

  $("rep-preset").addEventListener("change", () => { applyPreset(); if ($("rep-preset").value !== "custom") load(); });
  $("rep-class").addEventListener("change", load);
  $("rep-filters").addEventListener("submit", (event) => { event.preventDefault(); load(); });
  $("rep-retry").addEventListener("click", load);
  applyPreset();
  load();
})();
