// How the screens show numbers and times, and build their elements. Decimals arrive as exact strings
// and are shown without trailing zeros (prices keep at least two places); never parsed as floats.
"use strict";
window.fmt = {
  qty(text) { return text == null ? "" : (text.includes(".") ? text.replace(/\.?0+$/, "") : text); },
  px(text) {
    if (text == null || text === "") return "";
    const [whole, frac = ""] = text.split(".");
    const trimmed = frac.replace(/0+$/, "");
    return whole + "." + (trimmed.length < 2 ? trimmed.padEnd(2, "0") : trimmed);
  },
  time(iso) { return iso ? new Date(iso).toLocaleTimeString() : ""; },
  // A new element with an optional class and text (set as text, never as HTML).
  el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = String(text);
    return node;
  },
};
