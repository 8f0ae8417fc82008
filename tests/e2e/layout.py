"""The page's layout check, one helper for every mode, size and language: no visible control
is covered by another, none sticks out of the box that holds it, no label is cut and the page
does not scroll sideways. Geometry only (bounding boxes from the browser); what it reports
names each element by its test id, class and text, so that a failure says where to look."""
from __future__ import annotations

# What counts as a control or a label. Boxes that are drawn on purpose on top of others are
# left out: the network diagram's links canvas (the units sit on it), the hover tip.
LAYOUT_JS = r"""() => {
  const SEL = "button, input, select, label, canvas, output, h2, h3, .label, .legend-line, .colorbar, " +
              "figcaption, .readout, .hint, .losses > div, th, td, a";
  const UNDER = ".network canvas.links, .tip";
  const BOXES = ".col, header.topbar, .banner, .saved, footer.help";
  const tol = 1;   // px: rounding of fractional layouts
  const seen = (e) => {
    if (e.closest(UNDER)) return false;
    const r = e.getBoundingClientRect();
    if (r.width < 2 || r.height < 2) return false;
    for (let n = e; n && n !== document.documentElement; n = n.parentElement) {
      const s = getComputedStyle(n);
      if (s.display === "none" || s.visibility === "hidden" || Number(s.opacity) === 0) return false;
    }
    return true;
  };
  const name = (e) => {
    const id = e.dataset.testid || e.dataset.tid;
    const text = (e.innerText || e.value || "").trim().replace(/\s+/g, " ").slice(0, 24);
    return `${e.tagName.toLowerCase()}${id ? `[${id}]` : ""}${e.className && typeof e.className === "string" ? "." + e.className.trim().split(/\s+/).join(".") : ""}${text ? ` "${text}"` : ""}`;
  };
  // a box clipped by a scrolling ancestor is judged by what shows (a scrolled table's rows)
  const rectOf = (e) => {
    let r = e.getBoundingClientRect();
    let [l, t, rr, b] = [r.left, r.top, r.right, r.bottom];
    for (let n = e.parentElement; n; n = n.parentElement) {
      const s = getComputedStyle(n);
      if (/(auto|scroll|hidden)/.test(s.overflowX + s.overflowY)) {
        const p = n.getBoundingClientRect();
        l = Math.max(l, p.left); t = Math.max(t, p.top); rr = Math.min(rr, p.right); b = Math.min(b, p.bottom);
      }
    }
    return { left: l, top: t, right: rr, bottom: b };
  };
  const els = [...document.querySelectorAll(SEL)].filter(seen);
  const boxes = els.map(rectOf);
  const problems = [];
  // 1. overlaps between controls that are not inside one another
  for (let i = 0; i < els.length; i++) {
    const a = boxes[i];
    if (a.right - a.left < 2 || a.bottom - a.top < 2) continue;
    for (let j = i + 1; j < els.length; j++) {
      const b = boxes[j];
      if (els[i].contains(els[j]) || els[j].contains(els[i])) continue;
      const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
      const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
      if (w > tol && h > tol) problems.push(`overlap: ${name(els[i])} and ${name(els[j])} (${Math.round(w)}x${Math.round(h)} px)`);
    }
  }
  // 2. out of the box that holds it (a column, the header, a banner)
  for (let i = 0; i < els.length; i++) {
    const box = els[i].parentElement?.closest(BOXES);
    if (!box) continue;
    const p = box.getBoundingClientRect(), r = boxes[i];
    if (r.right - r.left < 2 || r.bottom - r.top < 2) continue;
    if (r.left < p.left - tol || r.right > p.right + tol || r.top < p.top - tol || r.bottom > p.bottom + tol)
      problems.push(`outside ${name(box).split(" ")[0]}: ${name(els[i])}`);
  }
  // 3. cut text: a block whose content is wider than itself
  for (const e of els) {
    if (e.matches("canvas, input, select")) continue;
    const s = getComputedStyle(e);
    if (s.display.startsWith("inline") && s.display !== "inline-block" && s.display !== "inline-flex" && s.display !== "inline-grid") continue;
    if (e.scrollWidth > e.clientWidth + tol && e.clientWidth > 0) problems.push(`cut: ${name(e)} (${e.scrollWidth} > ${e.clientWidth} px)`);
  }
  // a menu too narrow for the choice it shows ("Leaky ReL"): the text against the room left of the arrow
  const ctx = document.createElement("canvas").getContext("2d");
  for (const e of els) {
    if (!e.matches("select") || e.selectedIndex < 0) continue;
    const s = getComputedStyle(e);
    ctx.font = `${s.fontWeight} ${s.fontSize} ${s.fontFamily}`;
    const room = e.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight) - 16;
    const text = e.options[e.selectedIndex].text;
    if (ctx.measureText(text).width > room + tol) problems.push(`cut: ${name(e).split(" ")[0]} shows "${text}" in ${Math.round(room)} px`);
  }
  // 4. a word of a short label broken over two lines ("2차\n원", "Leaky ReL\nU")
  const range = document.createRange();
  for (const e of els) {
    if (!e.matches("button, label, .label, th, h2, h3, figcaption, output, .legend-line, .layer-count, .col-label")) continue;
    for (const node of e.childNodes) {
      if (node.nodeType !== 3) continue;
      for (const m of node.textContent.matchAll(/\S+/g)) {
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const tops = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
        if (tops.size > 1) { problems.push(`broken word: "${m[0]}" in ${name(e)}`); break; }
      }
    }
  }
  // 5. the sticky header keeps to two rows on a desktop (a fifth of the window at most)
  const head = document.querySelector("header.topbar");
  if (innerWidth >= 1000 && head.offsetHeight > 0.2 * innerHeight)
    problems.push(`header too tall: ${head.offsetHeight} px of ${innerHeight} (its controls stack up)`);
  // 6. the page itself scrolls sideways
  const W = document.documentElement.clientWidth, sw = document.documentElement.scrollWidth;
  if (sw > W + tol) problems.push(`page wider than the window: ${sw} > ${W} px`);
  return problems;
}"""


def layout_problems(page) -> list[str]:
    """Every overlap, overflow or cut label on ``page`` as it is now (empty when clean)."""
    return page.evaluate(LAYOUT_JS)
