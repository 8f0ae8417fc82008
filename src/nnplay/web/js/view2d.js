// 2-D mode: the data column (data sets, split, noise, own data) and the output panel
// (losses, curves, the decision boundary under the points, gradient sizes per layer).
import { el, heatmap, points, ticks, fit, slice, css, CLASS_COLORS, diverging } from "./draw.js";
import { t } from "./i18n.js";
import { dataIcon, icon } from "./icons.js";
import { field, slider, toggle, button, heading } from "./widgets.js";
import { classGrid } from "./network.js";
import * as schema from "./schema.js";
import { lrText } from "./chart.js";

const pct = (v) => `${Math.round(v)}%`;

export class DataPanel {
  // app: {editData(fn, {both}), edit(fn), upload(file), setDraw(on, cls), regenerate()}
  constructor(root, app, options) {
    this.app = app;
    this.root = root;
    const grid = el("div", { class: "datasets" });
    this.buttons = {};
    for (const name of options.datasets) {
      const b = el("button", { class: "dataset", "data-testid": `dataset-${name}`, "data-help": "dataset", title: name,
        onclick: () => app.editData((d) => { d.name = name; delete d.points; delete d.path; delete d.target; }) });
      b.innerHTML = dataIcon(name);
      b.append(el("span", { "data-i18n": `data.${name}` }, t(`data.${name}`)));
      grid.append(b);
      this.buttons[name] = b;
    }
    this.binaryOnly = new Set(options.binary_only);
    this.regression = new Set(options.regression);
    const { min: k0, max: k1 } = schema.range("data.classes");
    this.classes = el("div", { class: "segmented", "data-help": "classes" },
      ...Array.from({ length: k1 - k0 + 1 }, (_, i) => k0 + i).map((k) => el("button", { "data-testid": `classes-${k}`, onclick: () => app.editData((d) => { d.classes = k; }) }, String(k))));
    this.ratio = slider("ratio", { min: 10, max: 90, step: 5 }, pct, (v) => app.editData((d) => { d.train_ratio = v / 100; }), "ratio");
    this.val = slider("val-ratio", { min: 0, max: 50, step: 5 }, pct, (v) => app.editData((d) => { d.val_ratio = v / 100; }), "valRatio");
    this.noise = slider("noise", { min: 0, max: 50, step: 5 }, (v) => String(v), (v) => app.editData((d) => { d.noise = v / 100; }), "noise");
    this.samples = slider("samples", schema.range("data.samples"), (v) => String(v), (v) => app.editData((d) => { d.samples = v; }), "samples");
    this.batch = slider("batch", { min: 1, max: 100, step: 1 }, (v) => String(v), (v) => app.edit((s) => { s.train.batch_size = v; }), "batch");
    const regen = button("regenerate", "regenerate", () => app.regenerate(), { icon: "dice", help: "regenerate" });

    // the learner's own data
    const file = el("input", { type: "file", accept: ".csv,text/csv", "data-testid": "upload", hidden: true });
    file.addEventListener("change", () => { if (file.files[0]) app.upload(file.files[0]); file.value = ""; });
    const up = button("upload-button", "upload", () => file.click(), { icon: "upload", help: "upload" });
    this.draw = toggle("draw", "draw", (on) => app.setDraw(on, this.drawClass), "draw");
    this.drawClass = 0;
    this.swatches = el("div", { class: "swatches", "data-help": "drawClass" });
    this.own = el("p", { class: "own-data", "data-testid": "own-data" });
    root.append(heading("h.data"),
      el("p", { class: "hint", "data-i18n": "data.which" }, t("data.which")), grid, this.own,
      field("classes", this.classes, "classes"),
      field("ratio", this.ratio, "ratio"),
      field("valRatio", this.val, "valRatio"),
      field("noise", this.noise, "noise"),
      field("samples", this.samples, "samples"),
      field("batch", this.batch, "batch"),
      regen,
      heading("h.own"),
      el("div", { class: "own" }, up, file, this.draw, this.swatches),
      el("p", { class: "hint small", "data-i18n": "own.hint" }, t("own.hint")));
  }

  sync(spec, info) {
    const d = spec.data;
    for (const [name, b] of Object.entries(this.buttons)) b.classList.toggle("selected", d.name === name);
    const mine = d.name === "points" || d.name === "csv";   // the learner's own data is in use
    this.own.hidden = !mine;
    if (mine && info) this.own.textContent = t("own.using", { n: info.sizes.train + info.sizes.val + info.sizes.test });
    const fixed = this.binaryOnly.has(d.name) || this.regression.has(d.name) || !this.buttons[d.name];
    this.classes.querySelectorAll("button").forEach((b) => {
      b.classList.toggle("selected", Number(b.textContent) === (fixed ? info?.num_classes : d.classes));
      b.disabled = fixed;
    });
    this.ratio.set(Math.round(d.train_ratio * 100));
    this.val.set(Math.round(d.val_ratio * 100));
    this.noise.set(Math.round(d.noise * 100));
    this.samples.set(d.samples);
    this.noise.input.disabled = this.samples.input.disabled = mine;   // they shape generated data only
    this.batch.set(spec.train.batch_size);
    const k = Math.min(schema.range("data.classes").max, Math.max(2, (info && info.task !== "regression" ? info.num_classes : 2) + 1));
    this.swatches.replaceChildren(...Array.from({ length: k }, (_, c) => {
      const s = el("button", { class: "swatch", "data-testid": `draw-class-${c}`, style: `background:${css(CLASS_COLORS[c])}`,
        onclick: () => { this.drawClass = c; this.app.setDraw(true, c); this.sync(spec, info); } });
      s.classList.toggle("selected", c === this.drawClass);
      return s;
    }));
    this.draw.box.disabled = info?.task === "regression" || info?.mode !== "2d";
    this.swatches.hidden = info?.task === "regression";   // a drawn point has a class: none in regression
  }
}

export class OutputPanel {
  // app: {addPoint(session, x1, x2), hovered}
  constructor(root, app, session, suffix) {
    this.app = app;
    this.session = session;
    const id = (s) => (suffix ? `${s}-${suffix}` : s);
    this.lossTest = el("b", { "data-tid": id("loss-test") }, "–");
    this.lossTrain = el("b", { "data-tid": id("loss-train") }, "–");
    this.accTest = el("span", { class: "acc", "data-tid": id("acc-test") }, "");
    this.accTrain = el("span", { class: "acc", "data-tid": id("acc-train") }, "");
    this.lrNow = el("b", { "data-tid": id("lr-now"), "data-help": "lr" });
    this.canvas = el("canvas", { class: "boundary", "data-testid": id("boundary"), "data-help": "boundary" });
    this.canvas.addEventListener("click", (e) => this.click(e));
    this.grads = el("div", { class: "grads", "data-testid": id("grad-strip"), "data-help": "gradients" });
    this.title = el("div", { class: "panel-title" }, session.name.toUpperCase());
    this.chartSlot = el("div", { class: "chart-slot" });   // the other modes borrow the chart: it comes back here
    this.colorbar = el("div", { class: "colorbar", "data-help": "colorbar" }, el("span", {}, "-1"), el("i"), el("span", {}, "1"));
    this.root = el("div", { class: "out-panel" },
      this.title,
      el("div", { class: "losses" },
        el("div", { "data-help": "lossTest" }, el("span", { "data-i18n": "lossTest" }, t("lossTest")), this.lossTest, this.accTest),
        el("div", { "data-help": "lossTrain" }, el("span", { "data-i18n": "lossTrain" }, t("lossTrain")), this.lossTrain, this.accTrain)),
      this.chartSlot,
      el("div", { class: "legend-line" },
        el("span", { class: "key train" }), el("span", { "data-i18n": "curve.train" }, t("curve.train")),
        el("span", { class: "key test" }), el("span", { "data-i18n": "curve.test" }, t("curve.test")),
        el("span", { class: "key lr" }), el("span", { "data-i18n": "curve.lr" }, t("curve.lr")), this.lrNow),
      el("div", { class: "boundary-wrap" }, this.canvas),
      this.colorbar,
      el("h3", { "data-i18n": "h.gradients" }, t("h.gradients")),
      this.grads);
    root.append(this.root);
  }

  click(e) {
    const r = this.canvas.getBoundingClientRect();
    const E = this.session.info?.extent;
    if (!E) return;
    const x1 = ((e.clientX - r.left) / r.width) * 2 * E - E;
    const x2 = E - ((e.clientY - r.top) / r.height) * 2 * E;
    this.app.addPoint(this.session, x1, x2);
  }

  draw(opts) {
    const session = this.session;
    const f = session.frame;
    if (!f || !session.info) return;
    const h = f.header;
    const m = h.metrics;
    const fmt = (v) => (Number.isFinite(v) ? v.toFixed(3) : "–");
    this.lossTest.textContent = fmt(m.test_loss);
    this.lossTrain.textContent = fmt(m.train_loss);
    const acc = (v) => (Number.isFinite(v) ? t("accuracy", { v: (100 * v).toFixed(1) }) : "");
    this.accTest.textContent = acc(m.test_accuracy);
    this.accTrain.textContent = acc(m.train_accuracy);
    this.lrNow.textContent = lrText(m.lr);
    if (session.chart.canvas.parentElement !== this.chartSlot) this.chartSlot.replaceChildren(session.chart.canvas);
    session.chart.draw();
    const c = this.canvas;
    fit(c);
    const info = session.info;
    const a = f.arrays;
    const hover = opts.hover && a[`unit:${opts.hover.layer}`];
    if (hover) heatmap(c, slice(hover, opts.hover.unit), { alpha: 0.9 });
    else if (a.boundary) heatmap(c, a.boundary, { task: info.task, discrete: opts.discrete, alpha: 0.85 });
    else c.getContext("2d").clearRect(0, 0, c.width, c.height);
    this.colorbar.hidden = !hover && a.boundary?.shape.length === 3;   // class colors: no -1..1 scale
    if (session.points) c.getContext("2d").drawImage(this.pointsLayer(c, opts.showTest), 0, 0);
    this.app.practice?.overlay(c, session);   // the points the model asks about (active learning)
    this.drawGrads(h, info);
  }

  // The data points and axis ticks, drawn once per data set and size, then copied each frame.
  pointsLayer(c, showTest) {
    const session = this.session, info = session.info;
    const key = [session.points, c.width, c.height, showTest];
    if (this.layerKey && key.every((v, i) => v === this.layerKey[i])) return this.layer;
    this.layerKey = key;
    this.layer = this.layer || document.createElement("canvas");
    this.layer.width = c.width;
    this.layer.height = c.height;
    const r = Math.max(2.5, c.width / 110);
    points(this.layer, [...session.points.train, ...session.points.val], { extent: info.extent, task: info.task, radius: r });
    if (showTest) points(this.layer, session.points.test, { extent: info.extent, task: info.task, test: true, radius: r });
    ticks(this.layer, info.extent);
    return this.layer;
  }

  // One row per layer of the network the server described (info.layers: its dense layers),
  // built when the layers change, then only widths and numbers move; a layer without a
  // gradient yet (a new network, before its first step) shows none.
  // blocks (probes.blocks): a dense layer's activation, whose dead share shows beside it.
  drawGrads(h, info) {
    const norms = h.grad_norm || {};
    const dense = (info.layers || []).filter((l) => l.kind === "Linear").map((l) => l.name);
    const names = dense.length ? dense : Object.keys(norms);
    if (!names.length) return;
    const dead = {};
    for (const b of info.blocks || []) dead[b.name] = h.activations?.[b.act]?.dead;
    if (this.gradKey !== names.join()) {
      this.gradKey = names.join();
      this.gradRows = names.map((n) => {
        const row = { bar: el("i"), num: el("span", { class: "num" }), dead: el("span", { class: "dead" }) };
        row.el = el("div", { class: "grad-row" }, el("span", { class: "name" }, n), el("span", { class: "bar" }, row.bar), row.num, row.dead);
        return row;
      });
      this.grads.replaceChildren(...this.gradRows.map((r) => r.el));
    }
    const top = Math.max(0, ...names.map((n) => norms[n] ?? 0));
    names.forEach((n, i) => {
      const v = norms[n], row = this.gradRows[i];
      if (!Number.isFinite(v)) { row.bar.style.width = "0"; row.num.textContent = "–"; row.dead.textContent = ""; row.el.classList.remove("tiny"); return; }
      const lg = Math.log10(Math.max(v, 1e-8));
      row.bar.style.width = `${Math.max(2, Math.min(100, ((lg + 6) / 7) * 100))}%`;   // 1e-6 .. 10
      row.el.classList.toggle("tiny", v < top / 100);   // 100x below the largest: vanishing
      row.num.textContent = v.toExponential(1);
      row.dead.textContent = dead[n] > 0 ? t("dead", { p: Math.round(100 * dead[n]) }) : "";
    });
  }
}
