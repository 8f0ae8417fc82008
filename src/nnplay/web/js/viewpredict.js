// The "Predict" view: a network exported as ONNX (a saved run's model.onnx, or a file the
// learner uploads) runs in the page with onnxruntime-web (wasm backend, one thread). nnplay
// serve hands out the runtime from its npm package (/ort/, no CDN) and turns raw inputs into
// the network's inputs as in training (/api/predict/prepare, export.Predictor); the page
// draws or reads the inputs and computes the prediction itself.
import { el, css, CLASS_COLORS } from "./draw.js";
import { t } from "./i18n.js";
import { heading } from "./widgets.js";
import { drawingPad } from "./pad.js";

const META = "nnplay";       // export.META: the metadata_props key of nnplay's exports
const CELL = 224;            // the drawing pad's size in CSS pixels
const MAX_ROWS = 1000;       // CSV rows predicted at once

// {key: value} of an .onnx file's ModelProto.metadata_props (field 14: entries {key: 1, value: 2}),
// read straight from its protobuf bytes (onnxruntime-web does not expose custom metadata).
export function onnxMetadata(buf) {
  const out = {}, text = new TextDecoder();
  const walk = (start, end, visit) => {
    let i = start;
    const varint = () => { let v = 0, m = 1, b; do { b = buf[i++]; v += (b & 0x7f) * m; m *= 128; } while (b & 0x80 && i < end); return v; };
    while (i < end) {
      const tag = varint(), no = Math.floor(tag / 8), wire = tag % 8;
      if (wire === 0) varint();
      else if (wire === 1) i += 8;
      else if (wire === 5) i += 4;
      else if (wire === 2) { const n = varint(); visit(no, i, i + n); i += n; }
      else throw new Error("not an ONNX file");
    }
    if (i !== end) throw new Error("not an ONNX file");
  };
  walk(0, buf.length, (no, s, e) => {
    if (no !== 14) return;
    const entry = {};
    walk(s, e, (k, a, b) => { entry[k] = text.decode(buf.subarray(a, b)); });
    out[entry[1]] = entry[2];
  });
  return out;
}

let runtime = null;     // onnxruntime-web, imported once
function loadOrt() {
  runtime ??= import("/ort/ort.wasm.min.mjs").then((ort) => {
    ort.env.wasm.wasmPaths = "/ort/";   // the .mjs/.wasm pair it loads, from nnplay serve
    ort.env.wasm.numThreads = 1;        // single thread: no worker, no cross-origin isolation needed
    ort.env.wasm.proxy = false;
    return ort;
  }).catch((e) => { runtime = null; throw e; });
  return runtime;
}

// logits -> probabilities or values, as train.losses.predict does for the task
function outputs(logits, n, task) {
  const k = logits.length / n, rows = [];
  for (let r = 0; r < n; r++) {
    const z = Array.from(logits.slice(r * k, (r + 1) * k));
    if (task === "regression") rows.push(z);
    else if (task === "binary") { const p = 1 / (1 + Math.exp(-z[0])); rows.push([1 - p, p]); }
    else { const m = Math.max(...z), e = z.map((v) => Math.exp(v - m)), s = e.reduce((a, b) => a + b, 0); rows.push(e.map((v) => v / s)); }
  }
  return rows;
}

export class PredictView {
  // root: <main>; app: {session, writeURL(), showError(title, msg), hideError()}
  constructor(root, app) {
    this.app = app;
    this.meta = null; this.info = null; this.inference = null; this.source = null;
    this.last = null;
    this.want = null;          // a run id from the URL, loaded when the view opens
    this.texts = [];           // [element, i18n key, vars] of the text built here: relabelled on open
    this.status = el("p", { class: "hint small", "data-testid": "predict-status" }, t("predict.none"));
    this.model = el("div", { class: "predict-model", "data-testid": "predict-model" });
    this.runtime = el("p", { class: "hint small", "data-testid": "predict-runtime" });
    const file = el("input", { type: "file", accept: ".onnx", "data-testid": "predict-upload", hidden: true,
      onchange: async (e) => { const f = e.target.files[0]; if (f) await this.load(new Uint8Array(await f.arrayBuffer()), { file: f.name }); e.target.value = ""; } });
    this.input = el("div", { class: "predict-input", "data-testid": "predict-input" });
    this.output = el("div", { class: "predict-output", "data-testid": "predict-output" });
    root.append(
      el("section", { class: "col" }, heading("predict.h.model"),
        el("p", { class: "hint small", "data-i18n": "predict.hint" }, t("predict.hint")),
        el("button", { class: "ghost wide", "data-testid": "predict-session", "data-help": "predictSession", onclick: () => this.fromSession() },
          el("span", { "data-i18n": "predict.session" }, t("predict.session"))),
        el("button", { class: "ghost wide", "data-testid": "predict-upload-button", "data-help": "predictUpload", onclick: () => file.click() },
          el("span", { "data-i18n": "predict.upload" }, t("predict.upload"))), file,
        this.status, this.model, this.runtime),
      el("section", { class: "col" }, heading("predict.h.input"), this.input),
      el("section", { class: "col" }, heading("predict.h.output"), this.output));
  }

  state() { return this.source?.run ? { run: this.source.run } : {}; }
  restore(extra) { if (extra.run) this.want = extra.run; }

  open() {
    if (this.want) { const id = this.want; this.want = null; this.loadRun(id); return; }
    this.relabel();
  }

  // the language may have changed: every text this view wrote, again
  relabel() {
    this.texts = this.texts.filter(([e]) => e.isConnected);
    for (const [e, key, vars] of this.texts) e.textContent = t(key, vars);
    this.status.textContent = t(this.status.dataset.key || "predict.none");
    this.renderModel();
    if (this.last) this.renderOutput(this.labels);
  }

  text(tag, attrs, key, vars = {}) {
    const e = el(tag, attrs, t(key, vars));
    this.texts.push([e, key, vars]);
    return e;
  }

  setStatus(key) { this.status.textContent = t(key); this.status.dataset.key = key; }

  fail(key, message) {
    this.setStatus(key);
    this.app.showError(t(key), message || "");
  }

  // the network being trained: save it as a run (as the Save button does), then load its model.onnx
  fromSession() {
    if (!this.app.session?.spec) return;
    this.awaitSave = true;
    this.setStatus("predict.saving");
    this.app.session.send({ type: "save" });
  }

  onSaved(m) {
    if (!this.awaitSave) return;
    this.awaitSave = false;
    this.loadRun(m.run_id);
  }

  async loadRun(id) {
    this.setStatus("predict.exporting");
    const res = await fetch(`/api/runs/${encodeURIComponent(id)}/model.onnx`);
    if (!res.ok) { this.fail("predict.noModel", (await res.json().catch(() => ({}))).error); return; }
    await this.load(new Uint8Array(await res.arrayBuffer()), { run: id });
  }

  async load(bytes, source) {
    this.setStatus("predict.loading");
    let meta;
    try { meta = JSON.parse(onnxMetadata(bytes)[META]); } catch { this.fail("predict.noMeta"); return; }
    const info = await this.prepare(meta, []);
    if (!info) return;
    let ort;
    try { ort = await loadOrt(); } catch (e) {
      const why = await fetch("/ort/ort.wasm.min.mjs").then((r) => r.json()).then((b) => b.error).catch(() => String(e));
      this.fail("predict.noOrt", why);
      return;
    }
    const t0 = performance.now();
    try {
      this.inference = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
      this.loadMs = performance.now() - t0;    // runtime (first time: wasm compiled) and network
    } catch (e) { this.fail("predict.badModel", String(e.message || e)); return; }
    this.ort = ort;
    Object.assign(this, { meta, info, source, last: null });
    this.runtime.replaceChildren(this.text("span", {}, "predict.runtime", { version: ort.env.versions?.web ?? "" }));
    this.setStatus("predict.ready");
    this.app.hideError();
    this.renderModel();
    this.buildInput();
    this.output.replaceChildren(this.text("p", { class: "hint" }, info.kind === "image" ? "predict.drawHint" : "predict.rowHint"));
    this.app.writeURL();
  }

  // raw inputs (flat) -> the server's answer {kind, task, class_names, columns, raw_shape, input_shape, inputs}
  async prepare(meta, raw) {
    const res = await fetch("/api/predict/prepare", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ meta, inputs: Array.from(raw) }) });
    const body = await res.json();
    if (!res.ok) { this.fail("predict.badInput", body.error); return null; }
    return body;
  }

  async predict(raw, n, labels = null) {
    const body = await this.prepare(this.meta, raw);
    if (!body) return;
    const x = new this.ort.Tensor("float32", Float32Array.from(body.inputs), [n, ...body.input_shape]);
    const t0 = performance.now();
    const out = await this.inference.run({ [this.inference.inputNames[0]]: x });
    const ms = performance.now() - t0;     // the network's forward pass in the page
    const logits = Array.from(out[this.inference.outputNames[0]].data);
    this.last = { raw: Array.from(raw), inputs: body.inputs, logits, rows: n, ms, probs: outputs(logits, n, this.info.task) };
    this.labels = labels;
    this.renderOutput(labels);
  }

  renderModel() {
    if (!this.meta) { this.model.replaceChildren(); return; }
    const m = this.meta, info = this.info;
    const row = (key, v) => el("div", {}, el("span", {}, t(key)), el("b", {}, v));
    this.model.replaceChildren(
      row("predict.name", m.name || "–"),
      row("predict.source", this.source.run || this.source.file),
      row("predict.task", t(`predict.task.${info.task}`)),
      row("predict.shape", `(${info.input_shape.join(", ")})`),
      info.task === "regression" ? null : row("predict.classes", info.class_names.join(", ")));
  }

  buildInput() {
    if (this.info.kind === "image") this.buildPad();
    else this.buildRow();
  }

  // a drawing pad (pad.js), downsampled to the network's C x H x W, predicted when a stroke ends
  buildPad() {
    const [c, h, w] = this.info.raw_shape;
    const pad = drawingPad({ c, h, w, cell: CELL, testid: "predict", onInput: (raw) => this.predict(raw, 1) });
    this.input.replaceChildren(
      this.text("p", { class: "hint small" }, "predict.drawHint"), pad.pad,
      el("div", { class: "predict-pad-row" },
        this.text("button", { class: "ghost", "data-testid": "predict-clear", onclick: () => { pad.clear(); this.last = null; this.output.replaceChildren(); } }, "predict.clear"),
        el("figure", {}, pad.preview, this.text("figcaption", {}, "predict.preview", { h, w }))));
  }

  // one row typed in the order of the columns, or a CSV file with those columns in its header
  buildRow() {
    const cols = this.info.columns;
    const box = el("input", { type: "text", class: "predict-row", "data-testid": "predict-row", placeholder: cols.join(", ") });
    const go = () => {
      const v = box.value.split(/[\s,;]+/).filter(Boolean).map(Number);
      if (v.length !== cols.length || !v.every(Number.isFinite)) { this.fail("predict.badRow", t("predict.want", { columns: cols.join(", ") })); return; }
      this.predict(v, 1);
    };
    box.addEventListener("keydown", (e) => { if (e.key === "Enter") go(); });
    const csv = el("input", { type: "file", accept: ".csv,text/csv", "data-testid": "predict-csv",
      onchange: async (e) => { const f = e.target.files[0]; if (f) this.fromCsv(await f.text()); e.target.value = ""; } });
    this.input.replaceChildren(
      el("label", { class: "field" }, this.text("span", { class: "label" }, "predict.columns", { columns: cols.join(", ") }), box),
      this.text("button", { class: "ghost", "data-testid": "predict-run", onclick: go }, "predict.run"),
      el("label", { class: "field" }, this.text("span", { class: "label" }, "predict.csv"), csv));
  }

  fromCsv(text) {
    const lines = text.split(/\r?\n/).filter((l) => l.trim());
    const head = (lines.shift() || "").split(",").map((s) => s.trim().replace(/^\uFEFF/, ""));
    const idx = this.info.columns.map((c) => head.indexOf(c));
    if (idx.includes(-1)) { this.fail("predict.badRow", t("predict.want", { columns: this.info.columns.join(", ") })); return; }
    const rows = lines.slice(0, MAX_ROWS).map((l) => { const cells = l.split(","); return idx.map((j) => Number(cells[j])); });
    if (!rows.length || !rows.flat().every(Number.isFinite)) { this.fail("predict.badRow", t("predict.want", { columns: this.info.columns.join(", ") })); return; }
    this.predict(rows.flat(), rows.length, rows.map((r) => r.join(", ")));
  }

  renderOutput(labels) {
    const { probs, rows } = this.last, info = this.info;
    const pct = (p) => `${(100 * p).toFixed(1)}%`;
    if (rows > 1) {   // a CSV: one line per row
      const cells = (p) => (info.task === "regression" ? [p[0].toPrecision(4), ""]
        : [info.class_names[p.indexOf(Math.max(...p))], pct(Math.max(...p))]);
      this.output.replaceChildren(el("table", { class: "runs-table", "data-testid": "predict-rows" },
        el("thead", {}, el("tr", {}, el("th", {}, t("predict.input")), el("th", {}, t("predict.prediction")), el("th", {}, ""))),
        el("tbody", {}, probs.map((p, i) => el("tr", {}, el("td", {}, labels[i]), ...cells(p).map((c) => el("td", {}, c)))))));
      return;
    }
    const p = probs[0];
    if (info.task === "regression") {
      this.output.replaceChildren(el("div", { class: "predict-big", "data-testid": "predict-class" }, p[0].toPrecision(4)),
        el("p", { class: "hint small" }, t("predict.value")));
      return;
    }
    const best = p.indexOf(Math.max(...p));
    this.output.replaceChildren(
      el("div", { class: "predict-big", "data-testid": "predict-class" }, info.class_names[best]),
      el("p", { class: "hint small" }, t("predict.sure", { p: pct(p[best]) })),
      el("div", { class: "predict-bars", "data-testid": "predict-probs" }, p.map((q, i) => el("div", { class: i === best ? "best" : "" },
        el("span", {}, info.class_names[i]),
        el("i", {}, el("b", { style: `width:${(100 * q).toFixed(1)}%;background:${css(CLASS_COLORS[i % CLASS_COLORS.length])}` })),
        el("small", {}, pct(q))))),
      el("p", { class: "hint small" }, t("predict.inPage")));
  }
}
