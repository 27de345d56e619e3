// The order detail's chart (window.OrderChart), drawn with uPlot (static/vendor/uplot, window.uPlot) from
// GET /api/orders/<id>/chart/ (ems.chart.order_chart: times in epoch ms, numbers as decimal strings).
// Top pane: the market's last price and the NBBO mid, our fills as points (buy green, sell red), arrival,
// decision and limit as horizontal lines. Bottom pane, on the same time axis (cursors in sync): the
// schedule's target qty and our filled qty as step lines, our participation rate in % on its own axis.
// Dashed verticals mark the execution's start and scheduled end.
//
//   OrderChart.mount(container, orderId)  fetch and draw in container (one chart at a time: a new mount
//                                         replaces the last); returns a promise settled once drawn
//   OrderChart.refresh()                  fetch again and redraw in place (the blotter calls it, debounced)
//   OrderChart.unmount()                  destroy it and empty the container
//
// The container gets data-testid="order-chart", data-points (the number of fills drawn) and data-ready="1"
// once drawn (or once it says there is nothing to draw yet); data-state is "chart", "empty" or "error".
// Numbers are plotted as floats (pixels need no more), but every number shown as text is the API's own
// string, and every piece of data reaches the page through textContent, never as HTML.
"use strict";
(function () {
  const PRICE_H = 220; // plot heights in CSS pixels (uPlot's height includes the time axis, not the legend)
  const PROGRESS_H = 140;
  const AXIS_W = 64; // both panes' side axes have fixed widths so that their plot areas line up
  const FONT = "11px system-ui, sans-serif";
  const NONE = "—";
  const fmt = window.fmt || { px: (t) => t, qty: (t) => t };

  let current = null; // the mounted chart: { container, orderId, seq, parts, plots, texts, chart, observer, ... }
  let syncCount = 0;

  // ---- numbers and times as text (from the API's strings, never from floats) -------------------------

  const pxText = (t) => (t == null ? null : fmt.px(String(t)));
  const qtyText = (t) => (t == null ? null : fmt.qty(String(t)));
  // "0.1234" -> "12.34%": the decimal point moved two places in the text
  function pctText(fraction) {
    if (fraction == null) return null;
    const text = String(fraction);
    const negative = text.startsWith("-");
    const [whole, frac = ""] = (negative ? text.slice(1) : text).split(".");
    const padded = frac.padEnd(2, "0");
    const units = (whole + padded.slice(0, 2)).replace(/^0+(?=\d)/, "");
    const rest = padded.slice(2).replace(/0+$/, "");
    return (negative ? "-" : "") + units + (rest ? "." + rest : "") + "%";
  }
  function timeText(seconds) {
    if (seconds == null) return NONE;
    const d = new Date(seconds * 1000);
    return d.toLocaleTimeString(undefined, { hour12: false }) + "." + String(d.getMilliseconds()).padStart(3, "0");
  }
  const num = (t) => (t == null ? null : Number(t));

  function theme() {
    const css = getComputedStyle(document.documentElement);
    const v = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
    return {
      text: v("--text", "#d7dde4"), dim: v("--dim", "#7d8a97"), line: v("--line", "#26303b"),
      buy: v("--buy", "#4cc38a"), sell: v("--sell", "#f2555a"), accent: v("--accent", "#4ea1ff"),
      warn: "#f2c94c", decision: "#b48ef0",
    };
  }

  // ---- the data, aligned as uPlot wants it --------------------------------------------------------------
  // Each pane has one x array (seconds) and one array per series; `undefined` marks an x that is another
  // series' (uPlot's cursor skips it and finds that series' nearest point), null a value that is unknown.
  // texts[series][i] is what the legend shows for that point.

  function priceData(c) {
    const rows = c.market.map((m) => ({ t: m.t, m })).concat(c.fills.map((f) => ({ t: f.t, f })));
    rows.sort((a, b) => a.t - b.t);
    const n = rows.length;
    const data = [[], [], [], [], [], [], []];
    const texts = [[], [], [], [], [], [], []];
    const levels = [c.arrival_mid, c.decision_px, c.limit_px];
    rows.forEach((row, i) => {
      data[0][i] = row.t / 1000;
      data[1][i] = row.m ? num(row.m.px) : undefined;
      texts[1][i] = row.m ? pxText(row.m.px) : null;
      data[2][i] = row.m ? num(row.m.mid) : undefined;
      texts[2][i] = row.m ? pxText(row.m.mid) : null;
      data[3][i] = row.f ? num(row.f.px) : undefined;
      texts[3][i] = row.f ? qtyText(row.f.qty) + " @ " + pxText(row.f.px) + " " + row.f.venue
        + (row.f.liquidity ? " " + row.f.liquidity.toLowerCase() : "") : null;
      levels.forEach((level, k) => {
        data[4 + k][i] = num(level);
        texts[4 + k][i] = pxText(level);
      });
    });
    return { data: n ? data : data.map(() => []), texts };
  }

  function progressData(c) {
    const rows = [];
    if (c.start_at != null) rows.push({ t: c.start_at, filled: "0" });
    c.schedule.forEach((tick) => rows.push({ t: tick.ran_at, target: tick.target_qty }));
    c.fills.forEach((f) => rows.push({ t: f.t, filled: f.filled_qty }));
    c.market.forEach((m) => { if (m.participation != null) rows.push({ t: m.t, rate: m.participation }); });
    rows.sort((a, b) => a.t - b.t);
    // the steps hold their last value to the window's end
    const lastTarget = [...c.schedule].reverse().find((tick) => tick.target_qty != null);
    const lastFill = c.fills[c.fills.length - 1];
    if (rows.length) {
      rows.push({
        t: Math.max(c.range_end, rows[rows.length - 1].t),
        target: lastTarget ? lastTarget.target_qty : undefined,
        filled: lastFill ? lastFill.filled_qty : c.start_at != null ? "0" : undefined,
      });
    }
    const data = [[], [], [], []];
    const texts = [[], [], [], []];
    rows.forEach((row, i) => {
      data[0][i] = row.t / 1000;
      data[1][i] = row.target === undefined ? undefined : num(row.target);
      texts[1][i] = row.target == null ? null : qtyText(row.target);
      data[2][i] = row.filled === undefined ? undefined : num(row.filled);
      texts[2][i] = row.filled == null ? null : qtyText(row.filled);
      data[3][i] = row.rate === undefined ? undefined : Number(row.rate) * 100;
      texts[3][i] = row.rate == null ? null : pctText(row.rate);
    });
    return { data, texts };
  }

  // ---- the two plots -------------------------------------------------------------------------------------

  // The legend shows the point under the cursor; without a cursor, each series' latest.
  function legendValue(s, pane) {
    return (u, value, seriesIdx, idx) => {
      const texts = s.texts[pane][seriesIdx];
      let i = idx;
      if (i == null) for (i = texts.length - 1; i >= 0 && texts[i] == null; i--);
      const text = i == null || i < 0 ? null : texts[i];
      return text == null ? NONE : text;
    };
  }
  function timeValue(u, value, seriesIdx, idx) {
    const x = u.data[0];
    return timeText(idx == null ? (x.length ? x[x.length - 1] : null) : value);
  }
  function axis(t, extra) {
    return Object.assign(
      { stroke: t.dim, font: FONT, grid: { stroke: t.line, width: 1 }, ticks: { stroke: t.line, width: 1 } },
      extra
    );
  }
  function xScale(s) {
    return { time: true, range: () => [s.chart.range_start / 1000, s.chart.range_end / 1000] };
  }
  // Dashed verticals at the execution's start and scheduled end, when inside the window.
  function windowMarks(s) {
    return (u) => {
      const ctx = u.ctx;
      ctx.save();
      ctx.strokeStyle = s.theme.dim;
      ctx.lineWidth = 1;
      ctx.setLineDash([3, 3]);
      [s.chart.start_at, s.chart.end_at].forEach((at) => {
        if (at == null || at < s.chart.range_start || at > s.chart.range_end) return;
        const x = Math.round(u.valToPos(at / 1000, "x", true)) + 0.5;
        ctx.beginPath();
        ctx.moveTo(x, u.bbox.top);
        ctx.lineTo(x, u.bbox.top + u.bbox.height);
        ctx.stroke();
      });
      ctx.restore();
    };
  }
  const line = (s, pane, label, scale, stroke, more) =>
    Object.assign({ label, scale, stroke, width: 1, spanGaps: true, points: { show: false }, value: legendValue(s, pane) }, more);

  function priceOptions(s, width) {
    const t = s.theme;
    const ours = s.chart.side === "SELL" ? t.sell : t.buy;
    return {
      width, height: PRICE_H,
      cursor: { sync: { key: s.syncKey }, points: { size: 7 } },
      scales: { x: xScale(s), px: { auto: true } },
      axes: [
        axis(t, {}),
        axis(t, { scale: "px", side: 3, size: AXIS_W }),
        axis(t, { scale: "px", side: 1, size: AXIS_W, grid: { show: false } }),
      ],
      series: [
        { value: timeValue },
        line(s, "price", "Last", "px", t.text, { width: 1.25 }),
        line(s, "price", "Mid", "px", t.dim, { dash: [4, 3] }),
        {
          label: s.chart.side === "SELL" ? "Our fills (sell)" : "Our fills (buy)", scale: "px", stroke: ours, fill: ours,
          paths: () => null, points: { show: true, size: 8, width: 1, stroke: ours, fill: ours }, value: legendValue(s, "price"),
        },
        line(s, "price", "Arrival", "px", t.accent, { dash: [6, 4] }),
        line(s, "price", "Decision", "px", t.decision, { dash: [2, 4] }),
        line(s, "price", "Limit", "px", t.warn, { dash: [8, 3, 2, 3] }),
      ],
      hooks: { draw: [windowMarks(s)] },
    };
  }

  function progressOptions(s, width) {
    const t = s.theme;
    const ours = s.chart.side === "SELL" ? t.sell : t.buy;
    const stepped = window.uPlot.paths.stepped({ align: 1 });
    const orderQty = Number(s.chart.qty) || 0;
    return {
      width, height: PROGRESS_H,
      cursor: { sync: { key: s.syncKey }, points: { size: 7 } },
      scales: {
        x: xScale(s),
        qty: { range: (u, lo, hi) => [0, Math.max(orderQty, hi || 0) || 1] },
        pct: { range: (u, lo, hi) => [0, hi > 0 ? hi * 1.15 : 10] },
      },
      axes: [
        axis(t, {}),
        axis(t, { scale: "qty", side: 3, size: AXIS_W }),
        axis(t, { scale: "pct", side: 1, size: AXIS_W, grid: { show: false }, values: (u, ticks) => ticks.map((v) => v + "%") }),
      ],
      series: [
        { value: timeValue },
        line(s, "progress", "Target qty", "qty", t.accent, { paths: stepped, width: 1.5 }),
        line(s, "progress", "Filled qty", "qty", ours, { paths: stepped, width: 1.5 }),
        line(s, "progress", "Participation", "pct", t.warn),
      ],
      hooks: { draw: [windowMarks(s)] },
    };
  }

  // ---- mounting, drawing, refreshing -------------------------------------------------------------------

  function build(container) {
    const el = (cls, text) => {
      const node = document.createElement("div");
      node.className = cls;
      if (text != null) node.textContent = text;
      return node;
    };
    const parts = { message: el("oc-message"), price: el("oc-pane oc-price"), progress: el("oc-pane oc-progress") };
    container.replaceChildren(parts.message, parts.price, parts.progress);
    return parts;
  }

  // The container's content width (its padding excluded): the plots fill it.
  function width(s) {
    const css = getComputedStyle(s.container);
    const inner = s.container.clientWidth - (parseFloat(css.paddingLeft) || 0) - (parseFloat(css.paddingRight) || 0);
    return Math.max(200, Math.floor(inner > 0 ? inner : 600));
  }

  function destroyPlots(s) {
    if (s.plots) {
      s.plots.price.destroy();
      s.plots.progress.destroy();
      s.plots = null;
    }
  }

  function say(s, text, state) {
    s.parts.message.textContent = text;
    s.parts.message.hidden = !text;
    s.container.dataset.state = state;
  }

  function draw(s, chart) {
    s.chart = chart;
    if (!chart.market.length && !chart.fills.length) {
      destroyPlots(s);
      say(s, "no market data yet", "empty");
      s.container.dataset.points = "0";
      s.container.dataset.ready = "1";
      return;
    }
    const price = priceData(chart);
    const progress = progressData(chart);
    s.texts = { price: price.texts, progress: progress.texts };
    say(s, "", "chart");
    if (s.plots) {
      s.plots.price.setData(price.data);
      s.plots.progress.setData(progress.data);
    } else {
      const w = width(s);
      s.plots = {
        price: new window.uPlot(priceOptions(s, w), price.data, s.parts.price),
        progress: new window.uPlot(progressOptions(s, w), progress.data, s.parts.progress),
      };
      s.width = w;
    }
    s.container.dataset.points = String(chart.fills.length);
    s.container.dataset.ready = "1";
  }

  async function load(s) {
    const seq = ++s.seq;
    const live = () => current === s && seq === s.seq; // not unmounted, nor overtaken by a later load
    let chart;
    try {
      const response = await fetch("/api/orders/" + encodeURIComponent(s.orderId) + "/chart/", {
        credentials: "same-origin",
        cache: "no-store", // a refresh must see the fills that made it
        headers: { Accept: "application/json" },
      });
      if (!live()) return;
      if (!response.ok) {
        let message = "HTTP " + response.status;
        try {
          const body = await response.json();
          if (body && body.error && body.error.message) message = body.error.message;
        } catch (_) { /* not the API's error body: keep the status */ }
        if (live()) showError(s, message);
        return;
      }
      chart = await response.json();
    } catch (err) {
      if (live()) showError(s, "could not load: " + (err && err.message ? err.message : err));
      return;
    }
    if (live()) draw(s, chart);
  }

  function showError(s, message) {
    if (!s.plots) s.container.dataset.points = "0";
    say(s, "chart unavailable: " + message, "error");
  }

  function onResize(s) {
    if (current !== s || s.frame) return;
    s.frame = requestAnimationFrame(() => {
      s.frame = 0;
      if (current !== s || !s.plots) return;
      const w = width(s);
      if (w === s.width) return; // our own height change, or nothing that matters
      s.width = w;
      s.plots.price.setSize({ width: w, height: PRICE_H });
      s.plots.progress.setSize({ width: w, height: PROGRESS_H });
    });
  }

  function mount(container, orderId) {
    unmount();
    const s = {
      container, orderId, seq: 0, plots: null, texts: null, chart: null, width: 0, frame: 0,
      syncKey: "order-chart-" + ++syncCount, theme: theme(),
    };
    current = s;
    container.classList.add("order-chart");
    container.setAttribute("data-testid", "order-chart");
    delete container.dataset.ready;
    container.dataset.points = "0";
    s.parts = build(container);
    say(s, "loading…", "loading");
    if (!window.uPlot) {
      showError(s, "uPlot is not loaded (static/vendor/uplot/uPlot.iife.min.js)");
      return Promise.resolve();
    }
    if (window.ResizeObserver) {
      s.observer = new ResizeObserver(() => onResize(s));
      s.observer.observe(container);
    } else {
      s.onWindowResize = () => onResize(s);
      window.addEventListener("resize", s.onWindowResize);
    }
    return load(s);
  }

  function refresh() {
    return current ? load(current) : Promise.resolve();
  }

  function unmount() {
    const s = current;
    if (!s) return;
    current = null;
    if (s.frame) cancelAnimationFrame(s.frame);
    if (s.observer) s.observer.disconnect();
    if (s.onWindowResize) window.removeEventListener("resize", s.onWindowResize);
    destroyPlots(s);
    s.container.replaceChildren();
    s.container.classList.remove("order-chart");
    delete s.container.dataset.ready;
    delete s.container.dataset.points;
    delete s.container.dataset.state;
  }

  window.OrderChart = { mount, refresh, unmount };
})();
