// Generative mode: GAN Lab's views on the learner's own GAN (real vs generated points, D's
// heat map, G's gradient arrows, the manifold, separate D- and G-steps, mode coverage) and, for
// an autoencoder or VAE on digits, the latent map, the morph between two test images and the
// reconstructions. Drawing only: every number comes from the server (server/generative.py),
// every list and bound from the hello.
import { el, fit, css, heatmap, image, CLASS_COLORS, NEG, POS } from "./draw.js";
import { t } from "./i18n.js";
import * as schema from "./schema.js";
import { field, slider, select, toggle, button, heading } from "./widgets.js";

const fmt = (v, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : "–");
const REAL = [46, 160, 67];   // real points green, fakes purple (GAN Lab's colors)
const FAKE = [142, 68, 173];

// One (C, H, W) image out of a (N, C, H, W) frame array.
const nth = (a, i) => { const n = a.shape.slice(1).reduce((x, y) => x * y, 1); return a.data.subarray(i * n, (i + 1) * n); };

export class GenPanel {
  // app: {setMode(kind), edit(fn), editData(fn)}; options: the hello's vocabularies
  constructor(root, app, options) {
    this.app = app;
    this.dataSets = options.generative_data;
    this.kind = select("gen-kind", options.generative_kinds.map((k) => ({ value: k, key: `gen.kind.${k}` })), (k) => app.setMode(k), "genKind");
    this.data = select("gen-data", options.generative_data.map((k) => ({ value: k, key: `gen.data.${k}` })),
      (v) => app.editData((d) => { d.name = v; delete d.points; }), "genData");
    const r = (path) => schema.range(path);
    this.dSteps = slider("gen-d-steps", r("train.gan.d_steps"), String, (v) => app.edit((s) => { s.train.gan.d_steps = v; }), "genDSteps");
    this.gSteps = slider("gen-g-steps", r("train.gan.g_steps"), String, (v) => app.edit((s) => { s.train.gan.g_steps = v; }), "genGSteps");
    // the two players' learning rates, from the same menu as the top bar's (train.lr's choices)
    const lrs = schema.choices("train.lr").map((v) => ({ value: v }));
    this.dLr = select("gen-d-lr", lrs, (v) => app.edit((s) => { s.train.gan.d_lr = v; }), "genDLr");
    this.gLr = select("gen-g-lr", lrs, (v) => app.edit((s) => { s.train.gan.g_lr = v; }), "genGLr");
    this.draw = toggle("gen-draw", "gen.draw", (on) => { this.drawing = on; }, "genDraw");
    this.rows = { steps: el("div", {}, heading("h.genRounds"), field("gen.dSteps", this.dSteps, "genDSteps"), field("gen.gSteps", this.gSteps, "genGSteps"),
      field("gen.dLr", this.dLr, "genDLr"), field("gen.gLr", this.gLr, "genGLr")),
      draw: el("div", {}, this.draw, el("p", { class: "hint small", "data-i18n": "gen.drawHint" }, t("gen.drawHint"))) };
    root.append(heading("h.gen"), field("gen.kind", this.kind, "genKind"), field("gen.data", this.data, "genData"),
      this.rows.steps, this.rows.draw);
  }

  sync(spec, info) {
    this.kind.set(spec.model.kind);
    this.data.set(spec.data.name);
    this.dSteps.set(spec.train.gan.d_steps);
    this.gSteps.set(spec.train.gan.g_steps);
    this.dLr.set(spec.train.gan.d_lr);
    this.gLr.set(spec.train.gan.g_lr);
    const g = this.app.session.gen || {}, gan = g.kind === "gan";
    // a GAN learns any of the sets; an autoencoder or VAE here the images (latent map, morph)
    const sets = gan ? this.dataSets : this.dataSets.filter((k) => !this.dataSets.slice(0, -1).includes(k));
    if (this.data.options.length !== sets.length) this.data.fill(sets.map((k) => ({ value: k, key: `gen.data.${k}` })));
    this.data.set(spec.data.name);
    this.rows.steps.hidden = !gan;
    document.body.dataset.gen = g.kind;   // a GAN's top bar hides train.lr and train.optimizer (it has its own)
    this.rows.draw.hidden = !g.extent;
  }
}

export class GenView {
  constructor(center, right, app) {
    this.app = app;
    this.state = { a: 0, b: 1, t: 0 };
    this.show = { heat: true, arrows: true, manifold: false, real: true, fake: true };
    // --- the GAN's plane ---
    this.plane = el("canvas", { class: "gen-plane", "data-testid": "gen-plane", "data-help": "genPlane" });
    this.plane.addEventListener("click", (e) => this.click(e));
    const tg = (k) => { const w = toggle(`gen-show-${k}`, `gen.show.${k}`, (v) => { this.show[k] = v; this.draw(); }, `genShow_${k}`); w.set(this.show[k]); return w; };
    this.toggles = el("div", { class: "gen-toggles" }, ...["heat", "arrows", "manifold", "real", "fake"].map(tg));
    const stepBtn = (part) => button(`gen-step-${part}`, `gen.step.${part}`, () => this.session?.send({ type: "step", part }), { cls: "ghost", help: `genStep_${part}` });
    this.steps = el("div", { class: "gen-steps" }, stepBtn("d"), stepBtn("g"), stepBtn("both"));
    this.ganBox = el("div", { class: "gen-gan" }, this.steps, this.plane, this.toggles, el("p", { class: "hint small", "data-i18n": "gen.legend" }, t("gen.legend")));
    // --- the autoencoder's latent map and morph ---
    this.latent = el("canvas", { class: "gen-latent", "data-testid": "gen-latent", "data-help": "genLatent" });
    this.pickA = slider("gen-pick-a", { min: 0, max: 1, step: 1 }, String, (v) => this.setPick({ a: v }), "genPick");
    this.pickB = slider("gen-pick-b", { min: 0, max: 1, step: 1 }, String, (v) => this.setPick({ b: v }), "genPick");
    this.morphT = slider("gen-morph", { min: 0, max: 8, step: 1 }, (v) => `${v}`, (v) => { this.state.t = v; this.draw(); app.writeURL(); }, "genMorph");
    this.morphT.input.addEventListener("input", () => { this.state.t = Number(this.morphT.input.value); this.draw(); });
    this.ends = [0, 1].map((i) => el("canvas", { class: "gen-img", "data-testid": `gen-end-${"ab"[i]}` }));
    this.big = el("canvas", { class: "gen-img big", "data-testid": "gen-morph-image" });
    this.strip = el("div", { class: "gen-strip", "data-testid": "gen-strip" });
    this.aeBox = el("div", { class: "gen-ae" }, this.latent, el("div", { class: "gen-morph" },
      el("h3", { "data-i18n": "gen.morph" }, t("gen.morph")),
      field("gen.pickA", this.pickA, "genPick"), field("gen.pickB", this.pickB, "genPick"),
      el("div", { class: "gen-morph-row" }, this.ends[0], this.big, this.ends[1]),
      field("gen.morphT", this.morphT, "genMorph"), this.strip));
    this.title = el("h2", {});
    center.append(this.title, this.ganBox, this.aeBox);
    // --- right: readouts, the loss chart, reconstructions and samples ---
    this.readouts = el("table", { class: "gen-readouts", "data-testid": "gen-readouts" });
    this.chartSlot = el("div");
    this.recon = el("div", { class: "gen-grid", "data-testid": "gen-recon" });
    this.samples = el("div", { class: "gen-grid", "data-testid": "gen-samples" });
    this.reconBox = el("div", {}, el("h3", { "data-i18n": "gen.recon" }, t("gen.recon")), this.recon);
    this.samplesBox = el("div", {}, el("h3", { "data-i18n": "gen.samples" }, t("gen.samples")), this.samples);
    right.append(heading("h.output"), this.readouts, this.chartSlot, this.reconBox, this.samplesBox);
  }

  // the view's own URL state: ~pick=a,b&~morph=t (the interpolation's ends and position)
  urlState() { return this.session?.gen?.extent ? {} : { pick: `${this.state.a},${this.state.b}`, morph: String(this.state.t) }; }

  restore(extra) {
    const [a, b] = String(extra.pick || "").split(",").map((v) => Math.max(0, Math.round(Number(v)) || 0));
    if (extra.pick) Object.assign(this.state, { a, b: b ?? 1 });
    if (extra.morph) this.state.t = Math.max(0, Math.round(Number(extra.morph)) || 0);
  }

  setPick(p) {
    Object.assign(this.state, p);
    this.session?.setView({ pick_a: this.state.a, pick_b: this.state.b });
    this.app.writeURL();
  }

  build(session) {
    this.session = session;
    const g = session.gen || {}, twoD = !!g.extent;
    this.ganBox.hidden = !twoD;
    this.aeBox.hidden = twoD || g.kind === "gan";
    this.reconBox.hidden = g.kind === "gan";
    this.title.dataset.i18n = `gen.title.${g.kind}`;
    this.title.textContent = t(this.title.dataset.i18n);
    this.chartSlot.replaceChildren(session.chart.canvas);
    this.chartSlot.hidden = g.kind === "gan";   // the chart's curves are train and test loss
    const most = Math.max(1, (g.test_size || 2) - 1);
    for (const s of [this.pickA, this.pickB]) { s.input.max = most; }
    this.pickA.set(Math.min(this.state.a, most));
    this.pickB.set(Math.min(this.state.b, most));
    if (!twoD && g.kind !== "gan" && (session.view.pick_a !== this.state.a || session.view.pick_b !== this.state.b)) {
      session.setView({ pick_a: this.state.a, pick_b: this.state.b });
    }
  }

  // drawing points on the plane: one more real point (label 0: the labels are not learned)
  click(e) {
    const g = this.session?.gen;
    if (!this.app.genPanel.drawing || !g?.extent) return;
    const r = this.plane.getBoundingClientRect(), [lo, hi] = g.extent;
    const x1 = lo + ((e.clientX - r.left) / r.width) * (hi - lo), x2 = hi - ((e.clientY - r.top) / r.height) * (hi - lo);
    const d = (this.session.pending || this.session.spec).data;
    const pts = d.name === "points" ? structuredClone(d.points) : g.real.map(([a, b]) => [a, b, 0]);
    pts.push([Number(x1.toFixed(3)), Number(x2.toFixed(3)), 0]);
    this.app.editData((dd) => { dd.name = "points"; dd.points = pts; });
  }

  draw() {
    const session = this.session, f = session?.frame;
    if (!f) return;
    const h = f.header, a = f.arrays;
    this.readout(h);
    if (!this.chartSlot.hidden) session.chart.draw();
    if (a.heat) this.drawPlane(h, a);
    if (a.latent) this.drawLatent(h, a);
    if (a.recon) this.grid(this.recon, [[a.pair, 0], [a.recon, 0], [a.pair, 1], [a.recon, 1]]);
    this.samplesBox.hidden = !a.samples;
    if (a.samples) this.grid(this.samples, Array.from({ length: a.samples.shape[0] }, (_, i) => [a.samples, i]));
  }

  readout(h) {
    const rows = [];
    const g = h.gan, m = h.metrics || {};
    if (g) {
      rows.push(["gen.dLoss", fmt(g.d_loss)], ["gen.gLoss", fmt(g.g_loss)], ["gen.dAccuracy", fmt(g.d_accuracy, 2)]);
      if (g.modes) rows.push(["gen.modes", `${g.modes_covered} / ${g.modes}`, "gen-modes"], ["gen.highQuality", `${(100 * g.high_quality).toFixed(1)}%`, "gen-hq"]);
    } else {
      rows.push(["gen.testLoss", fmt(m.test_loss)]);
      if ("test_kl" in m) rows.push(["gen.recon.term", fmt(m.test_recon)], ["gen.kl", fmt(m.test_kl)]);
      if ("test_mse" in m) rows.push(["gen.mse", fmt(m.test_mse, 4)]);
    }
    this.readouts.replaceChildren(...rows.map(([k, v, id]) => el("tr", {},
      el("th", { "data-i18n": k }, t(k)), el("td", { class: "num", "data-testid": id || null }, v))));
  }

  drawPlane(h, a) {
    const c = this.plane;
    fit(c);
    const ctx = c.getContext("2d"), e = h.extent, W = c.width;
    const X = (x) => ((x + e) / (2 * e)) * W, Y = (y) => ((e - y) / (2 * e)) * W;
    if (this.show.heat) heatmap(c, { shape: a.heat.shape, data: a.heat.data }, { task: "binary" });
    else ctx.clearRect(0, 0, W, W);
    const r = (window.devicePixelRatio || 1) * 2.6;
    const dot = (x, y, col) => { ctx.beginPath(); ctx.arc(X(x), Y(y), r, 0, 2 * Math.PI); ctx.fillStyle = css(col, 0.85); ctx.fill(); };
    if (this.show.manifold) {   // G's image of the noise grid: rows and columns of the grid as lines
      const [n, m] = a.manifold.shape, d = a.manifold.data;
      ctx.strokeStyle = css(FAKE, 0.45);
      ctx.lineWidth = 1;
      for (const across of [true, false]) {
        for (let i = 0; i < n; i++) {
          ctx.beginPath();
          for (let j = 0; j < m; j++) {
            const k = (across ? i * m + j : j * m + i) * 2;
            if (j) ctx.lineTo(X(d[k]), Y(d[k + 1])); else ctx.moveTo(X(d[k]), Y(d[k + 1]));
          }
          ctx.stroke();
        }
      }
    }
    if (this.show.real) for (const [x, y] of this.session.gen.real) dot(x, y, REAL);
    const fk = a.fake.data, ar = a.arrows.data, n = a.fake.shape[0];
    if (this.show.fake) for (let i = 0; i < n; i++) dot(fk[2 * i], fk[2 * i + 1], FAKE);
    if (this.show.arrows) {   // scaled so the longest arrow is a tenth of the plane
      let top = 0;
      for (let i = 0; i < n; i++) top = Math.max(top, Math.hypot(ar[2 * i], ar[2 * i + 1]));
      const s = top > 0 ? (0.2 * e) / top : 0;
      ctx.strokeStyle = "rgba(20,20,20,0.7)";
      ctx.lineWidth = window.devicePixelRatio || 1;
      for (let i = 0; i < n; i++) {
        const x0 = fk[2 * i], y0 = fk[2 * i + 1], x1 = x0 + s * ar[2 * i], y1 = y0 + s * ar[2 * i + 1];
        ctx.beginPath(); ctx.moveTo(X(x0), Y(y0)); ctx.lineTo(X(x1), Y(y1)); ctx.stroke();
      }
    }
  }

  drawLatent(h, a) {
    const c = this.latent;
    fit(c);
    const ctx = c.getContext("2d"), z = a.latent.data, y = a.labels.data, n = a.latent.shape[0], W = c.width, H = c.height;
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < 2 * n; i++) { lo = Math.min(lo, z[i]); hi = Math.max(hi, z[i]); }
    const pad = 0.08 * (hi - lo || 1), L = lo - pad, S = hi - lo + 2 * pad;
    const X = (v) => ((v - L) / S) * W, Y = (v) => H - ((v - L) / S) * H;
    ctx.clearRect(0, 0, W, H);
    const r = (window.devicePixelRatio || 1) * 3;
    ctx.font = `${Math.round(r * 3.4)}px system-ui, sans-serif`;
    ctx.textAlign = "center"; ctx.textBaseline = "middle";
    for (let i = 0; i < n; i++) {   // each test image as its digit, in its class color
      ctx.fillStyle = css(CLASS_COLORS[y[i] % CLASS_COLORS.length], 0.85);
      ctx.fillText(String(y[i]), X(z[2 * i]), Y(z[2 * i + 1]));
    }
    const p = h.pick;
    for (const [i, col] of [[p.a, NEG], [p.b, POS]]) {   // the two picked images, ringed
      ctx.beginPath(); ctx.arc(X(z[2 * i]), Y(z[2 * i + 1]), 3 * r, 0, 2 * Math.PI);
      ctx.lineWidth = r * 0.8; ctx.strokeStyle = css(col); ctx.stroke();
    }
    const steps = a.morph.shape[0], [, , hh, ww] = a.morph.shape;
    this.morphT.input.max = steps - 1;
    const k = Math.min(this.state.t, steps - 1);
    this.morphT.set(k);
    this.paint(this.big, nth(a.morph, k), hh, ww);
    this.ends.forEach((cv, i) => this.paint(cv, nth(a.pair, i), hh, ww));
    if (this.strip.childElementCount !== steps) this.strip.replaceChildren(...Array.from({ length: steps }, () => el("canvas", { class: "gen-img small" })));
    [...this.strip.children].forEach((cv, i) => { this.paint(cv, nth(a.morph, i), hh, ww); cv.classList.toggle("on", i === k); });
  }

  paint(canvas, data, h, w) {
    canvas.width = w * 8; canvas.height = h * 8;
    image(canvas, data, h, w, { lo: 0, hi: 1 });
  }

  // [[array, index], ...] -> a grid of small images (reconstructions: input, output pairs)
  grid(box, items) {
    if (box.childElementCount !== items.length) box.replaceChildren(...items.map(() => el("canvas", { class: "gen-img small" })));
    items.forEach(([arr, i], j) => { const [, , h, w] = arr.shape; this.paint(box.children[j], nth(arr, i), h, w); });
  }
}
