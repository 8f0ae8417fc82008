// The practice views (issue 12), each a thin client of one socket message (protocol.md):
// image mode: a training batch before and after data.augment ("augment"), and the nearest
// test images of a metric-learning embedding ("neighbors"); 2-D mode: active learning, the
// model asks about the points it is least sure of ("ask") and the learner labels them.
// Names, bounds and starting values come from the hello (options, schema).
import { el, image, css, CLASS_COLORS } from "./draw.js";
import { t } from "./i18n.js";
import { icon } from "./icons.js";
import { field, select, button, heading, toggle } from "./widgets.js";
import * as schema from "./schema.js";

export const ANSWERS = ["augment", "ask", "neighbors"];   // frame header types answered here

// One test or training image as a small canvas (the first channel of colour images).
function thumb(arr, i) {
  const [, , H, W] = arr.shape;
  const c = el("canvas", { width: W, height: H });
  image(c, arr.data.subarray(i * arr.shape[1] * H * W, i * arr.shape[1] * H * W + H * W), H, W, { lo: 0, hi: 1 });
  return c;
}

export class Practice {
  // app: {session, edit(fn), editData(fn), hello, boot, drawAll(), writeURL()}
  constructor(app, options, limits) {
    this.app = app;
    this.options = options;
    this.limits = limits;
    this.asked = [];
    this.seed = 0;
    // --- augmentation (image mode) ---
    const types = schema.field("data.augment.type").enum;
    this.addType = select("augment-type", types.map((v) => ({ value: v, key: `aug.${v}` })), () => {}, "augment");
    this.chips = el("div", { class: "aug-chips", "data-testid": "augment-list" });
    this.before = el("div", { class: "aug-row", "data-testid": "augment-before" });
    this.after = el("div", { class: "aug-row", "data-testid": "augment-after" });
    this.augment = el("section", { class: "practice", "data-testid": "augment-view" },
      heading("h.augment"), el("p", { class: "hint small", "data-i18n": "augment.hint" }, t("augment.hint")),
      this.chips,
      el("div", { class: "add-row" }, this.addType,
        button("augment-add", "augment.add", () => this.addTransform(), { icon: "plus", help: "augment" }),
        button("augment-refresh", "augment.refresh", () => { this.seed += 1; this.preview(); }, { icon: "dice", help: "augmentRefresh" })),
      el("div", { class: "aug-label", "data-i18n": "augment.before" }, t("augment.before")), this.before,
      el("div", { class: "aug-label", "data-i18n": "augment.after" }, t("augment.after")), this.after);
    // --- nearest neighbours (image mode, model.embedding) ---
    this.metric = toggle("metric-toggle", "neighbors.toggle", (on) => app.edit((s) => {
      s.model.embedding = on ? schema.start("model.embedding") : null;
    }), "metric");
    this.nbrs = el("div", { class: "nbrs", "data-testid": "neighbors" });
    this.neighbors = el("section", { class: "practice", "data-testid": "neighbors-view" },
      heading("h.neighbors"), this.metric,
      el("p", { class: "hint small", "data-i18n": "neighbors.hint" }, t("neighbors.hint")), this.nbrs);
    // --- active learning (2-D mode) ---
    const boot = app.boot?.extra.ask;
    this.strategy = options.strategies.includes(boot) ? boot : options.strategies[0];
    this.pick = select("ask-strategy", options.strategies.map((v) => ({ value: v, key: `active.${v}` })),
      (v) => { this.strategy = v; app.writeURL(); }, "askStrategy");
    this.pick.set(this.strategy);
    this.prompt = el("div", { class: "ask-prompt", "data-testid": "ask-prompt" });
    this.active = el("section", { class: "practice", "data-testid": "active-view" },
      heading("h.active"), el("p", { class: "hint small", "data-i18n": "active.hint" }, t("active.hint")),
      field("active.strategy", this.pick, "askStrategy"),
      button("ask", "active.ask", () => this.ask(), { icon: "dice", cls: "ghost", help: "ask" }), this.prompt);
  }

  // the URL's share of this view: ~ask=strategy (2-D mode)
  state() { return { ask: this.strategy === this.options.strategies[0] ? "" : this.strategy }; }

  // --- augmentation ---------------------------------------------------------------
  addTransform() {
    const type = this.addType.value;
    this.app.editData((d) => { d.augment = [...(d.augment || []), { type }]; });
  }

  syncImage(spec) {
    const list = spec.data.augment || [];
    const p = schema.field("data.augment.p");
    this.chips.replaceChildren(...(list.length ? list.map((a, i) => {
      const input = el("input", { type: "number", class: "param", "data-testid": `augment-${i}-p`, value: a.p ?? p.default,
        min: p.minimum, max: p.maximum, step: 0.1, title: t("augment.p") });
      input.addEventListener("change", () => this.app.editData((d) => { d.augment[i].p = Number(input.value); }));
      const rm = el("button", { class: "mini", "data-testid": `augment-remove-${i}`, "data-help": "augmentRemove",
        onclick: () => this.app.editData((d) => { d.augment.splice(i, 1); }) });
      rm.innerHTML = icon("close");
      return el("div", { class: "block", "data-testid": `augment-${i}` },
        el("span", { class: "type", "data-i18n": `aug.${a.type}` }, t(`aug.${a.type}`)),
        el("span", { class: "param-name", "data-i18n": "augment.p" }, t("augment.p")), input, rm);
    }) : [el("span", { class: "hint", "data-i18n": "augment.none" }, t("augment.none"))]));
    this.metric.set(spec.model.embedding != null);
  }

  preview() {
    const n = Math.min(16, this.limits.preview_images);
    this.app.session.send({ type: "augment", n, seed: this.seed });
  }

  drawAugment(f) {
    const { before, after, targets } = f.arrays, h = f.header;
    const names = this.app.session.info?.class_names || [];
    const cell = (arr, i, text) => el("figure", {}, thumb(arr, i), el("figcaption", {}, text));
    const top = (i) => {   // soft targets after a mix: the two largest shares
      if (!h.soft) return names[h.labels[i]];
      const K = targets.shape[1], row = Array.from(targets.data.subarray(i * K, (i + 1) * K));
      const order = row.map((v, k) => [v, k]).sort((a, b) => b[0] - a[0]);
      return order.slice(0, 2).filter(([v]) => v > 0.005).map(([v, k]) => `${names[k]} ${Math.round(100 * v)}%`).join(" · ");
    };
    this.before.replaceChildren(...h.labels.map((y, i) => cell(before, i, names[y])));
    this.after.replaceChildren(...h.labels.map((_, i) => cell(after, i, top(i))));
  }

  // --- nearest neighbours ------------------------------------------------------------
  findNeighbors(session, i) {
    if (session.spec?.model.embedding == null) { this.nbrs.replaceChildren(el("span", { class: "hint", "data-i18n": "neighbors.off" }, t("neighbors.off"))); return; }
    session.send({ type: "neighbors", image: i, k: Math.min(8, this.limits.neighbors) });
  }

  drawNeighbors(f) {
    const h = f.header, names = this.app.session.info?.class_names || [];
    const q = el("figure", { class: "query", "data-testid": "neighbor-query" }, thumb({ shape: [1, ...f.arrays.query.shape], data: f.arrays.query.data }, 0),
      el("figcaption", {}, `#${h.image.index} ${names[h.image.label]}`));
    this.nbrs.replaceChildren(q, ...h.neighbors.map((n, i) => el("figure", {
      class: n.label === h.image.label ? "same" : "other", "data-testid": `neighbor-${i}` },
      thumb(f.arrays.images, i), el("figcaption", {}, `${names[n.label]} · ${t("neighbors.sim", { v: n.similarity.toFixed(3) })}`))));
  }

  // --- active learning -------------------------------------------------------------------
  ask() { this.app.session.send({ type: "ask", k: Math.min(5, this.limits.ask_points), strategy: this.strategy }); }

  onAsked(session, f) {
    const pts = f.arrays.points;
    this.asked = f.header.indices.map((_, i) => [pts.data[2 * i], pts.data[2 * i + 1]]);
    this.renderPrompt(session);
    this.app.drawAll();
  }

  renderPrompt(session) {
    const k = session.info?.num_classes || 2;
    this.prompt.replaceChildren(...this.asked.map(([x1, x2], i) => el("div", { class: "ask-row", "data-testid": `ask-${i}` },
      el("span", {}, t("active.point", { n: i + 1, x1: x1.toFixed(1), x2: x2.toFixed(1) })),
      ...Array.from({ length: k }, (_, c) => el("button", { class: "swatch", "data-testid": `ask-${i}-class-${c}`,
        style: `background:${css(CLASS_COLORS[c])}`, title: session.info?.class_names?.[c] ?? String(c),
        onclick: () => this.label(session, i, c) })))));
  }

  // the learner's answer joins data.points (as a clicked point does) and training goes on
  label(session, i, c) {
    const [x1, x2] = this.asked[i];
    this.asked.splice(i, 1);
    this.renderPrompt(session);
    this.app.addLabelled(session, x1, x2, c);
  }

  // rings around the asked points on the 2-D output panel, numbered as in the prompt
  overlay(canvas, session) {
    if (!this.asked.length || session !== this.app.sessions[0] || !session.info?.extent) return;
    const E = session.info.extent, s = canvas.width / (2 * E), ctx = canvas.getContext("2d");
    const r = Math.max(6, canvas.width / 45);
    ctx.lineWidth = Math.max(2, r / 4);
    ctx.font = `bold ${Math.round(r * 1.1)}px system-ui, sans-serif`;
    this.asked.forEach(([x1, x2], i) => {
      const x = (x1 + E) * s, y = (E - x2) * s;
      ctx.strokeStyle = "#111"; ctx.fillStyle = "#111";
      ctx.beginPath(); ctx.arc(x, y, r, 0, 2 * Math.PI); ctx.stroke();
      ctx.fillText(String(i + 1), x + r, y - r);
    });
  }

  onAnswer(session, f) {
    const kind = f.header.type;
    if (kind === "augment") this.drawAugment(f);
    else if (kind === "neighbors") this.drawNeighbors(f);
    else this.onAsked(session, f);
  }

  // after a ready in image mode: a fresh preview and the picked image's neighbours
  onReady(session) {
    if (session.info?.mode !== "image") { if (session.info?.mode !== "2d") this.asked = []; return; }
    this.preview();
    this.findNeighbors(session, session.view.image);
  }
}
