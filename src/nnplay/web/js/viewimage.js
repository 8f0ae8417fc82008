// Image mode: a CNN built from blocks, a test-image picker (or the learner's own drawn or
// uploaded image), each layer's feature maps (hover: a value; click: the explainer), every conv
// layer's filters, the softmax arithmetic, the confusion matrix and the misclassified test images.
import { el, image, fit, css, CLASS_COLORS, POS } from "./draw.js";
import { t } from "./i18n.js";
import { icon } from "./icons.js";
import { field, slider, select, button, heading } from "./widgets.js";
import * as schema from "./schema.js";
import { Explainer, softmaxTable } from "./explainer.js";
import { drawingPad } from "./pad.js";

const pct = (v) => `${Math.round(v)}%`;

export class ImagePanel {
  // app: {edit(fn), editData(fn)}
  constructor(root, app, options) {
    this.app = app;
    this.options = options;
    const folders = options.folder_sets || {};   // image folders (data.name = "folder") from --data-dir
    const sets = [...Object.keys(options.image_sets), ...Object.keys(folders)];
    this.set = select("image-set", sets.map((s) => (s === "digits" ? { value: s, key: "data.digits" } : { value: s, label: s })),
      (name) => app.editData((d) => {
        delete d.size;
        if (name in folders) { d.name = "folder"; d.path = folders[name]; d.size = schema.start("data.size"); delete d.limit; }
        else if (name === "digits") { d.name = "digits"; delete d.path; delete d.limit; }
        else { d.name = "idx"; d.path = options.image_sets[name]; d.limit = d.limit || schema.start("data.limit"); }
      }), "imageSet");
    this.ratio = slider("image-ratio", { min: 10, max: 90, step: 5 }, pct, (v) => app.editData((d) => { d.train_ratio = v / 100; }), "ratio");
    this.batch = slider("image-batch", { min: 8, max: 256, step: 8 }, String, (v) => app.edit((s) => { s.train.batch_size = v; }), "batch");
    this.blocks = el("div", { class: "blocks", "data-testid": "blocks" });
    this.addType = select("add-block-type", options.image_layers.map((b) => ({ value: b, key: `layer.${b}` })), () => {}, "addBlock");
    const add = button("add-block", "addBlock", () => app.edit((s) => {
      const type = this.addType.value;
      const layers = s.model.layers || [];
      const at = layers.findIndex((l) => l.type === "flatten");
      const conv = options.before_flatten.includes(type);
      layers.splice(conv && at >= 0 ? at : layers.length, 0, { type, ...options.layers[type].start });
      s.model.layers = layers;
    }), { icon: "plus", help: "addBlock" });
    this.init = select("image-init", options.inits.map((i) => ({ value: i, key: `init.${i}` })),
      (v) => app.edit((s) => { s.model.init = v; }), "init");
    root.append(heading("h.data"), field("imageSet", this.set, "imageSet"), field("ratio", this.ratio, "ratio"),
      field("batch", this.batch, "batch"),
      heading("h.cnn"), el("p", { class: "hint small", "data-i18n": "cnn.hint" }, t("cnn.hint")),
      this.blocks, el("div", { class: "add-row" }, this.addType, add), field("init", this.init, "init"));
  }

  sync(spec, info) {
    const d = spec.data;
    const offered = d.name === "folder" ? this.options.folder_sets || {} : this.options.image_sets;
    const name = d.name === "idx" || d.name === "folder" ? Object.keys(offered).find((k) => offered[k] === d.path) : "digits";
    if (name) this.set.set(name);
    this.ratio.set(Math.round(d.train_ratio * 100));
    this.batch.set(spec.train.batch_size);
    this.init.set(spec.model.init);
    const layers = spec.model.layers || [];
    const shapes = {};
    (info?.layers || []).forEach((l) => { shapes[l.name] = l.shape; });
    this.blocks.replaceChildren(...layers.map((layer, i) => {
      let p = this.options.layers[layer.type]?.fields[0];   // the type's main field, if a number
      const f = p && schema.field(`model.layers.${p}`);
      if (f && f.type !== "integer" && f.type !== "number") p = null;
      const input = p ? el("input", { type: "number", class: "param", "data-testid": `block-${i}-param`, value: layer[p],
        step: f.type === "integer" ? 1 : 0.05, min: f.minimum ?? 0, max: f.maximum ?? f.exclusiveMaximum }) : el("span", { class: "param" });
      if (p) input.addEventListener("change", () => this.app.edit((s) => { s.model.layers[i][p] = Number(input.value); }));
      const rm = el("button", { class: "mini", "data-testid": `remove-block-${i}`, "data-help": "removeBlock",
        onclick: () => this.app.edit((s) => { s.model.layers.splice(i, 1); }) });
      rm.innerHTML = icon("close");
      return el("div", { class: `block ${layer.type}`, "data-testid": `block-${i}` },
        el("span", { class: "type" }, t(`layer.${layer.type}`)),
        p ? el("span", { class: "param-name", "data-i18n": `param.${p}` }, t(`param.${p}`)) : null, input, rm);
    }));
  }
}

export class ImageView {
  // app: {pick(session, i)}
  constructor(center, right, app) {
    this.app = app;
    this.gallery = el("div", { class: "gallery", "data-testid": "gallery" });
    this.maps = el("div", { class: "fmaps", "data-testid": "feature-maps" });
    this.filters = el("div", { class: "filters", "data-testid": "filters" });
    this.readout = el("p", { class: "value-readout small", "data-testid": "fmap-readout" }, "\u00a0");
    this.filterReadout = el("p", { class: "value-readout small", "data-testid": "filter-readout" }, "\u00a0");
    this.explainer = new Explainer(app);
    this.softmax = el("div", { class: "softmax-box", "data-testid": "softmax-box" });
    this.own = el("div", { class: "drawn-box", "data-testid": "own" });
    this.lossTest = el("b", { "data-tid": "loss-test" }, "–");
    this.lossTrain = el("b", { "data-tid": "loss-train" }, "–");
    this.accTest = el("span", { class: "acc", "data-tid": "acc-test" });
    this.accTrain = el("span", { class: "acc", "data-tid": "acc-train" });
    this.probs = el("div", { class: "probs", "data-testid": "probs" });
    this.confusion = el("canvas", { class: "confusion", "data-testid": "confusion", "data-help": "confusion" });
    this.mistakes = el("div", { class: "mistakes", "data-testid": "mistakes" });
    this.mistakeCount = el("span", { class: "count" });
    this.chartSlot = el("div");
    center.append(heading("h.pick"), el("div", { class: "pick-row" }, el("div", { class: "pick-left" }, this.gallery), this.own),
      heading("h.fmaps"),
      el("p", { class: "hint small", "data-i18n": "fmaps.hint" }, t("fmaps.hint")),
      el("p", { class: "hint small", "data-i18n": "fmaps.click" }, t("fmaps.click")), this.readout, this.maps,
      this.explainer.root,
      heading("h.allFilters"), el("p", { class: "hint small", "data-i18n": "filters.hint" }, t("filters.hint")),
      this.filterReadout, this.filters);
    right.append(heading("h.output"),
      el("div", { class: "losses" },
        el("div", { "data-help": "lossTest" }, el("span", { "data-i18n": "lossTest" }, t("lossTest")), this.lossTest, this.accTest),
        el("div", { "data-help": "lossTrain" }, el("span", { "data-i18n": "lossTrain" }, t("lossTrain")), this.lossTrain, this.accTrain)),
      this.chartSlot,
      this.probsHead = el("h3", { "data-i18n": "h.probs" }, t("h.probs")), this.probs,
      el("h3", { "data-i18n": "h.softmax" }, t("h.softmax")), this.softmax,
      el("h3", { "data-i18n": "h.confusion" }, t("h.confusion")), this.confusion,
      el("h3", {}, el("span", { "data-i18n": "h.mistakes" }, t("h.mistakes")), " ", this.mistakeCount), this.mistakes);
  }

  build(session) {
    this.session = session;
    this.chartSlot.replaceChildren(session.chart.canvas);
    const imgs = session.images;
    if (!imgs) return;
    const [, hgt, wid] = imgs.shape;
    this.gallery.replaceChildren(...imgs.pixels.map((px, i) => {
      const c = el("canvas", { width: wid, height: hgt });
      image(c, Float32Array.from(px), hgt, wid, { lo: 0, hi: 1 });
      const b = el("button", { class: "thumb", "data-testid": `pick-${i}`, title: `${t("label")} ${imgs.labels[i]}`,
        onclick: () => { this.ownOff(session); this.app.pick(session, i); } }, c);
      b.classList.toggle("selected", i === session.view.image);
      return b;
    }));
    this.mapsKey = null;
    this.filtersKey = null;
    this.readout.textContent = this.filterReadout.textContent = "\u00a0";   // a hover's text, in the old language
    this.buildOwn(session, [imgs.shape[0], hgt, wid]);
    this.explainer.reset(session);
  }

  // the learner's own image: a drawing pad (pad.js) or a picture file, sent as raw pixels
  // ("input"); the frames then show it flowing through the network
  buildOwn(session, [c, h, w]) {
    const key = `${c}x${h}x${w}`;
    if (this.ownKey === key) return;
    this.ownKey = key;
    this.ownOn = false;
    const send = (raw) => { this.ownOn = true; this.syncOwn(); session.send({ type: "input", pixels: Array.from(raw, (v) => Math.round(v * 1e4) / 1e4) }); };
    const pad = drawingPad({ c, h, w, cell: 150, testid: "own", onInput: (raw) => send(raw) });
    const file = el("input", { type: "file", accept: "image/png,image/jpeg", hidden: true, "data-testid": "own-upload",
      onchange: async (e) => { const f = e.target.files[0]; if (f) await pad.load(f); e.target.value = ""; } });
    const small = (testid, key, onclick) => el("button", { class: "ghost", "data-testid": testid, "data-help": "drawn", onclick },
      el("span", { "data-i18n": key }, t(key)));
    this.ownState = el("p", { class: "small drawn-state", "data-testid": "own-state" });
    this.own.replaceChildren(
      el("h3", { "data-i18n": "drawn.h" }, t("drawn.h")), el("p", { class: "hint small", "data-i18n": "drawn.hint" }, t("drawn.hint")),
      el("div", { class: "drawn-pad" }, pad.pad, el("figure", {}, pad.preview, el("figcaption", {}, `${h}×${w}`))),
      el("div", { class: "drawn-buttons" },
        small("own-clear", "drawn.clear", () => { pad.clear(); this.ownOff(this.session); }),
        small("own-invert", "drawn.invert", () => pad.invert()),
        small("own-upload-button", "drawn.upload", () => file.click()), file),
      this.ownState);
    this.syncOwn();
  }

  syncOwn() {
    if (!this.ownState) return;
    const key = this.ownOn ? "drawn.showing" : "drawn.testImage";
    this.ownState.dataset.i18n = key;
    this.ownState.textContent = t(key);
  }

  // back to the picked test image
  ownOff(session) {
    if (!this.ownOn || !session) return;
    this.ownOn = false;
    this.syncOwn();
    session.send({ type: "input", pixels: null });
  }

  onInspect(session, f) { if (session === this.session) this.explainer.onAnswer(f); }

  onError() { this.explainer.onError(); }

  draw() {
    const session = this.session;
    const f = session?.frame;
    if (!f) return;
    const h = f.header, a = f.arrays;
    const fmt = (v) => (Number.isFinite(v) ? v.toFixed(3) : "–");
    this.lossTest.textContent = fmt(h.metrics.test_loss);
    this.lossTrain.textContent = fmt(h.metrics.train_loss);
    const acc = (v) => (Number.isFinite(v) ? t("accuracy", { v: (100 * v).toFixed(1) }) : "");
    this.accTest.textContent = acc(h.metrics.test_accuracy);
    this.accTrain.textContent = acc(h.metrics.train_accuracy);
    session.chart.draw();
    this.gallery.querySelectorAll(".thumb").forEach((b, i) => b.classList.toggle("selected", i === h.image?.index));
    this.drawMaps(a);
    this.drawFilters(a);
    this.drawProbs(h.image, session.info.class_names);
    this.softmax.replaceChildren(...softmaxTable(h.image?.softmax, session.info.class_names));
    this.explainer.onFrame();
    if (h.confusion) this.drawConfusion(h.confusion, session.info.class_names);
    if (h.mistakes) this.drawMistakes(h.mistakes, a.mistakes, session.info.class_names);
  }

  drawMaps(a) {
    const names = Object.keys(a).filter((k) => k.startsWith("fmap:"));
    const key = names.map((n) => `${n}:${a[n].shape}`).join("|");
    if (key !== this.mapsKey) {   // rebuild the canvases when the network's shape changes
      this.mapsKey = key;
      this.mapCanvases = {};
      const rows = [["input", a.input], ...names.map((n) => [n, a[n]])].filter(([, arr]) => arr).map(([n, arr]) => {
        const [C, H, W] = arr.shape;
        const size = Math.max(48, Math.min(96, 8 * Math.max(H, W)));    // large enough to read a value
        const explained = n !== "input" && n.replace("fmap:", "") in (this.session.info.explainable || {});
        const cs = Array.from({ length: Math.min(C, 32) }, (_, i) => this.mapCanvas(n, i, W, H, size, explained));
        this.mapCanvases[n] = cs;
        return el("div", { class: "fmap-row" }, el("span", { class: "name" }, n.replace("fmap:", ""), el("small", {}, `${C}×${H}×${W}`)),
          el("div", { class: "maps" }, cs));
      });
      this.maps.replaceChildren(...rows);
    }
    for (const [n, cs] of Object.entries(this.mapCanvases)) {
      const arr = n === "input" ? a.input : a[n];
      if (!arr) continue;
      const [, H, W] = arr.shape;
      cs.forEach((c, i) => image(c, arr.data.subarray(i * H * W, (i + 1) * H * W), H, W));
    }
  }

  // one feature map's canvas: hover reads its value, a click explains it (conv and pool layers)
  mapCanvas(n, unit, W, H, size, explained) {
    const c = el("canvas", { width: W, height: H, class: `fmap${explained ? " explained" : ""}`,
      style: `width:${size}px;height:${size}px`, "data-testid": `fmap-${n.replace("fmap:", "")}-${unit}` });
    const place = (e) => [Math.min(H - 1, Math.floor(e.offsetY / c.clientHeight * H)), Math.min(W - 1, Math.floor(e.offsetX / c.clientWidth * W))];
    c.addEventListener("mousemove", (e) => {
      const arr = n === "input" ? this.session?.frame?.arrays.input : this.session?.frame?.arrays[n];
      if (!arr) return;
      const [row, col] = place(e);
      const v = arr.data[unit * H * W + row * W + col];
      this.readout.textContent = t("readout.fmap", { layer: n.replace("fmap:", ""), unit, row, col, v: v.toFixed(4) });
      this.readout.dataset.value = String(v);
    });
    if (explained) {
      c.addEventListener("click", (e) => {
        const [row, col] = place(e);
        this.maps.querySelectorAll("canvas.selected").forEach((x) => x.classList.remove("selected"));
        c.classList.add("selected");
        this.explainer.select({ layer: n.replace("fmap:", ""), unit, row, col });
      });
    }
    return c;
  }

  // every conv layer's kernels: one row per input channel, one column per filter (same color scale in a layer)
  drawFilters(a) {
    const names = Object.keys(a).filter((k) => k.startsWith("filters:"));
    const key = names.map((n) => `${n}:${a[n].shape}`).join("|");
    if (key !== this.filtersKey) {
      this.filtersKey = key;
      this.filterCanvases = {};
      this.filters.replaceChildren(...names.map((n) => {
        const [F, C, k0, k1] = a[n].shape;
        const layer = n.replace("filters:", "");
        const cs = [];
        const rows = Array.from({ length: C }, (_, c) => el("div", { class: "filter-row" },
          el("span", { class: "ch" }, `c${c}`), Array.from({ length: F }, (_, f) => {
            const cv = el("canvas", { width: k1, height: k0, class: "filter", "data-testid": `filter-${layer}-${f}-${c}` });
            cv.addEventListener("mousemove", (e) => {
              const w = this.session?.frame?.arrays[n];
              if (!w) return;
              const i = Math.min(k0 - 1, Math.floor(e.offsetY / cv.clientHeight * k0)), j = Math.min(k1 - 1, Math.floor(e.offsetX / cv.clientWidth * k1));
              const v = w.data[((f * C + c) * k0 + i) * k1 + j];
              this.filterReadout.textContent = t("readout.filter", { layer, f, c, i, j, v: v.toFixed(4) });
            });
            cs.push([cv, f, c]);
            return cv;
          })));
        this.filterCanvases[n] = cs;
        return el("div", { class: "filter-layer", "data-testid": `filters-${layer}` },
          el("span", { class: "name" }, layer, el("small", {}, ` ${F}×${C}×${k0}×${k1}`)), el("div", { class: "filter-grid" }, rows));
      }));
    }
    for (const [n, cs] of Object.entries(this.filterCanvases)) {
      const w = a[n];
      if (!w) continue;
      const [, C, k0, k1] = w.shape;
      let m = 0;
      for (const v of w.data) m = Math.max(m, Math.abs(v));
      for (const [cv, f, c] of cs) {
        const o = (f * C + c) * k0 * k1;
        image(cv, w.data.subarray(o, o + k0 * k1), k0, k1, { lo: -m, hi: m, signed: true });
      }
    }
  }

  drawProbs(img, names) {
    if (!img) return;
    this.probsHead.dataset.i18n = img.drawn ? "h.probsOwn" : "h.probs";   // the learner's own image, or a test image
    this.probsHead.textContent = t(this.probsHead.dataset.i18n);
    const best = img.probs.indexOf(Math.max(...img.probs));
    this.probs.replaceChildren(...img.probs.map((p, k) => el("div", { class: `prob${k === img.label ? " truth" : ""}${k === best ? " best" : ""}` },
      el("span", { class: "name" }, names[k]), el("span", { class: "bar" }, el("i", { style: `width:${(100 * p).toFixed(1)}%` })),
      el("span", { class: "num" }, `${(100 * p).toFixed(0)}%`))));
  }

  drawConfusion(cm, names) {
    const c = this.confusion;
    fit(c);
    const K = cm.length;
    const ctx = c.getContext("2d");
    const r = window.devicePixelRatio || 1;
    const pad = 16 * r;
    const cell = (c.width - pad) / K;
    ctx.clearRect(0, 0, c.width, c.height);
    const rowMax = cm.map((row) => Math.max(1, row.reduce((x, y) => x + y, 0)));
    ctx.font = `${Math.max(8, Math.min(12, cell / (2.4 * r))) * r}px system-ui, sans-serif`;
    ctx.textAlign = "center"; ctx.textBaseline = "middle";
    for (let i = 0; i < K; i++) {
      ctx.fillStyle = "#6b7785";
      ctx.fillText(names[i], pad / 2, pad + (i + 0.5) * cell);
      ctx.fillText(names[i], pad + (i + 0.5) * cell, pad / 2);
      for (let j = 0; j < K; j++) {
        const share = cm[i][j] / rowMax[i];
        const col = i === j ? POS : CLASS_COLORS[4];   // right: blue; wrong: red (the palette's)
        ctx.fillStyle = css(col, cm[i][j] ? 0.12 + 0.8 * share : 0.03);
        ctx.fillRect(pad + j * cell + 1, pad + i * cell + 1, cell - 2, cell - 2);
        if (cm[i][j]) {
          ctx.fillStyle = share > 0.5 ? "#fff" : "#1f2933";
          ctx.fillText(String(cm[i][j]), pad + (j + 0.5) * cell, pad + (i + 0.5) * cell);
        }
      }
    }
  }

  drawMistakes(m, arr, names) {
    this.mistakeCount.textContent = `(${m.count})`;
    if (!arr || !arr.shape.length || !m.index.length) { this.mistakes.replaceChildren(el("span", { class: "hint", "data-i18n": "mistakes.none" }, t("mistakes.none"))); return; }
    const [, , H, W] = arr.shape;
    this.mistakes.replaceChildren(...m.index.map((idx, i) => {
      const c = el("canvas", { width: W, height: H });
      image(c, arr.data.subarray(i * H * W, (i + 1) * H * W), H, W, { lo: 0, hi: 1 });
      return el("div", { class: "mistake", title: `#${idx}` }, c,
        el("span", {}, `${names[m.true[i]]}→`, el("b", { style: `color:${css(CLASS_COLORS[1])}` }, names[m.pred[i]])));
    }));
  }
}
