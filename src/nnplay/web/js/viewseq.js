// Sequences mode: a series, the adding problem or Korean text through recurrent blocks (RNN,
// LSTM, GRU). Forecast vs truth on the test period with the baselines' lines and MAE, the chosen
// test sequence's gates and gradient over time, text samples at a chosen temperature. Drawing
// only: every number comes from the server (server/sequences.py), every choice from the hello.
import { el, fit, css, heatmap, CLASS_COLORS, NEG, POS } from "./draw.js";
import { t } from "./i18n.js";
import { icon } from "./icons.js";
import { field, slider, select, button, heading } from "./widgets.js";

// A line's color (read when drawn: the palette arrives with the hello).
const color = (key) => ({ truth: "#1f2933", forecast: css(POS), persistence: css(NEG), seasonal_naive: css(CLASS_COLORS[2]),
  ar: css(CLASS_COLORS[3]), bigram: css(CLASS_COLORS[4]) })[key] || "#999";
const SIGMOID = new Set(["input", "forget", "output", "reset", "update"]);   // gates in [0, 1]; others tanh in [-1, 1]
const fmt = (v, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : "–");

// Recurrent blocks feed each other every step's output; the last one gives its final state.
function chain(layers) {
  const rec = layers.map((l, i) => (l.units && l.type !== "dense" && l.type !== "embedding" ? i : -1)).filter((i) => i >= 0);
  rec.forEach((i, k) => { if (k < rec.length - 1) layers[i].return_sequences = true; else delete layers[i].return_sequences; });
  return layers;
}

export class SeqPanel {
  // app: {setMode(kind), edit(fn), editData(fn)}; options: the hello's vocabularies
  constructor(root, app, options, limits) {
    this.app = app;
    this.recurrent = new Set(options.recurrent);
    this.kind = select("seq-data", options.sequence_data.map((k) => ({ value: k, key: `seq.data.${k}` })), (k) => app.setMode(k), "seqData");
    this.series = select("seq-series", options.series.filter((s) => s !== "csv").map((s) => ({ value: s, key: `seq.series.${s}` })),
      (v) => app.editData((d) => { d.series = v; delete d.period; delete d.test_steps; }), "seqSeries");
    this.corpus = select("seq-corpus", options.corpora.map((c) => ({ value: c, key: `seq.corpus.${c}` })),
      (v) => app.editData((d) => { d.corpus = v; }), "seqCorpus");
    const most = Math.min(limits.steps, 100);
    this.window = slider("seq-window", { min: 2, max: most, step: 1 }, String, (v) => app.editData((d) => { d.window = v; }), "seqWindow");
    this.horizon = slider("seq-horizon", { min: 1, max: 12, step: 1 }, String, (v) => app.editData((d) => { d.horizon = v; }), "seqHorizon");
    this.length = slider("seq-length", { min: 5, max: most, step: 1 }, String, (v) => app.editData((d) => { d.length = v; }), "seqLength");
    this.batch = slider("seq-batch", { min: 8, max: 256, step: 8 }, String, (v) => app.edit((s) => { s.train.batch_size = v; }), "batch");
    this.rows = {};
    const row = (key, control, help) => (this.rows[key] = field(key, control, help));
    this.blocks = el("div", { class: "blocks", "data-testid": "seq-blocks" });
    this.cells = options.recurrent;
    const add = button("seq-add-block", "seq.addBlock", () => app.edit((s) => {
      const layers = s.model.layers || [];
      const last = [...layers].reverse().find((l) => this.recurrent.has(l.type));
      layers.push({ type: last?.type || "lstm", units: last?.units || 16 });
      s.model.layers = chain(layers);
    }), { icon: "plus", help: "seqAddBlock" });
    root.append(heading("h.data"), field("seq.data", this.kind, "seqData"), row("seq.series", this.series, "seqSeries"),
      row("seq.corpus", this.corpus, "seqCorpus"), row("seq.window", this.window, "seqWindow"),
      row("seq.horizon", this.horizon, "seqHorizon"), row("seq.length", this.length, "seqLength"),
      field("batch", this.batch, "batch"),
      heading("h.recurrent"), el("p", { class: "hint small", "data-i18n": "seq.blocksHint" }, t("seq.blocksHint")),
      this.blocks, add);
    add.insertAdjacentHTML("afterbegin", icon("plus"));
  }

  sync(spec, info) {
    const d = spec.data, kind = d.name;
    this.kind.set(kind);
    this.series.set(d.series);
    this.corpus.set(d.corpus);
    this.window.set(d.window);
    this.horizon.set(d.horizon);
    this.length.set(d.length);
    this.batch.set(spec.train.batch_size);
    this.rows["seq.series"].hidden = this.rows["seq.horizon"].hidden = kind !== "series";
    this.rows["seq.corpus"].hidden = kind !== "text";
    this.rows["seq.window"].hidden = kind === "adding";
    this.rows["seq.length"].hidden = kind !== "adding";
    this.renderBlocks(spec.model.layers || []);
  }

  renderBlocks(layers) {
    const edit = (fn) => this.app.edit((s) => { fn(s.model.layers); s.model.layers = chain(s.model.layers); });
    const count = layers.filter((l) => this.recurrent.has(l.type)).length;
    this.blocks.replaceChildren(...layers.map((layer, i) => {
      if (!this.recurrent.has(layer.type)) {   // the embedding (text) or other fixed layers: shown, not edited here
        return el("div", { class: `block ${layer.type}`, "data-testid": `seq-block-${i}` },
          el("span", { class: "name", "data-i18n": `seq.layer.${layer.type}` }, t(`seq.layer.${layer.type}`)),
          el("span", { class: "param" }, layer.dim ?? layer.units ?? layer.filters ?? ""));
      }
      const type = select(`seq-block-${i}-type`, this.cells.map((c) => ({ value: c, key: `seq.layer.${c}` })),
        (v) => edit((ls) => { ls[i].type = v; }), "seqCell");
      type.set(layer.type);
      const num = (testid, key, value, set, help) => {
        const input = el("input", { type: "number", class: "param", "data-testid": testid, min: 1, step: 1, value });
        input.addEventListener("change", () => edit((ls) => set(ls[i], Math.max(1, Math.round(Number(input.value)) || 1))));
        return el("label", { class: "mini-field", "data-help": help }, el("span", { "data-i18n": key }, t(key)), input);
      };
      const rm = el("button", { class: "mini", "data-testid": `seq-remove-block-${i}`, "data-help": "removeBlock",
        disabled: count <= 1, onclick: () => edit((ls) => { ls.splice(i, 1); }) });
      rm.innerHTML = icon("minus");
      return el("div", { class: `block ${layer.type}`, "data-testid": `seq-block-${i}` }, type,
        num(`seq-block-${i}-units`, "seq.units", layer.units, (l, v) => { l.units = v; }, "seqUnits"),
        num(`seq-block-${i}-layers`, "seq.layers", layer.num_layers ?? 1, (l, v) => { l.num_layers = Math.min(v, 8); }, "seqLayers"), rm);
    }));
  }
}

export class SeqView {
  constructor(center, right, app) {
    this.app = app;
    this.forecast = el("canvas", { class: "seq-chart", "data-testid": "seq-forecast", "data-help": "seqForecast" });
    this.table = el("table", { class: "seq-mae", "data-testid": "seq-mae" });
    this.forecastBox = el("div", { class: "seq-forecast-box" }, this.forecast, this.table);
    this.sampleText = el("pre", { class: "seq-sample", "data-testid": "seq-sample", lang: "ko" });
    this.temperature = slider("seq-temperature", { min: 0.1, max: 2, step: 0.1 }, (v) => v.toFixed(1),
      (v) => { this.session?.setView({ temperature: v }); app.writeURL(); }, "seqTemperature");
    this.sampleBox = el("div", { class: "seq-sample-box" }, field("seq.temperature", this.temperature, "seqTemperature"),
      this.sampleText);
    this.title = el("h2", {});
    center.append(this.title, this.forecastBox, this.sampleBox);
    this.lossTest = el("b", { "data-testid": "seq-loss-test" }, "–");
    this.lossTrain = el("b", { "data-testid": "seq-loss-train" }, "–");
    this.chartSlot = el("div");
    this.pick = slider("seq-pick", { min: 0, max: 1, step: 1 }, String, (v) => { this.session?.setView({ sequence: v }); app.writeURL(); }, "seqPick");
    this.seqText = el("code", { class: "seq-text", "data-testid": "seq-text" });
    this.gates = el("div", { class: "seq-gates", "data-testid": "seq-gates", "data-help": "seqGates" });
    this.timegrad = el("canvas", { class: "seq-timegrad", "data-testid": "seq-timegrad", "data-help": "seqTimegrad" });
    this.gradBox = el("div", {}, el("h3", { "data-i18n": "seq.timegrad" }, t("seq.timegrad")), this.timegrad);
    right.append(heading("h.output"),
      el("div", { class: "losses" },
        el("div", { "data-help": "lossTest" }, el("span", { "data-i18n": "lossTest" }, t("lossTest")), this.lossTest),
        el("div", { "data-help": "lossTrain" }, el("span", { "data-i18n": "lossTrain" }, t("lossTrain")), this.lossTrain)),
      this.chartSlot, heading("seq.sequence"), field("seq.pick", this.pick, "seqPick"), this.seqText,
      el("h3", { "data-i18n": "seq.gates" }, t("seq.gates")), this.gates, this.gradBox);
  }

  // the view's own URL state: ~seq (test sequence) and ~temp (sampling temperature)
  state() {
    const v = this.session?.view || {};
    return { seq: v.sequence ? String(v.sequence) : "", temp: v.temperature && v.temperature !== 1 ? String(v.temperature) : "" };
  }

  build(session) {
    this.session = session;
    this.chartSlot.replaceChildren(session.chart.canvas);
    const s = session.seq || {};
    const kind = s.kind;
    this.title.dataset.i18n = `seq.title.${kind}`;
    this.title.textContent = t(this.title.dataset.i18n);
    this.forecastBox.hidden = kind === "text";
    this.sampleBox.hidden = kind !== "text";
    this.gradBox.hidden = kind === "text";
    this.seqText.hidden = kind !== "text";
    this.pick.input.max = Math.max(0, (s.test_size || 1) - 1);
    this.pick.set(Math.min(session.view.sequence || 0, Number(this.pick.input.max)));
    this.temperature.set(session.view.temperature ?? 1);
  }

  draw() {
    const session = this.session, f = session?.frame, s = session?.seq;
    if (!f || !s) return;
    const h = f.header, a = f.arrays;
    this.lossTest.textContent = fmt(h.metrics.test_loss, 4);
    this.lossTrain.textContent = fmt(h.metrics.train_loss, 4);
    session.chart.draw();
    if (s.kind === "series") this.drawSeries(s, h, a);
    if (s.kind === "adding") this.drawAdding(s, h, a);
    if (s.kind === "text") this.drawText(s, h);
    this.drawGates(h, a);
    if (a.time_grad) this.drawTimeGrad(a.time_grad.data);
  }

  legend(rows) {
    this.table.replaceChildren(el("tr", {}, el("th", {}, ""), el("th", { "data-i18n": "seq.model" }, t("seq.model")),
      el("th", {}, rows[0].metric)),
      ...rows.map((r) => el("tr", { "data-testid": `seq-mae-${r.key}` },
        el("td", {}, el("i", { class: "seq-swatch", style: `background:${color(r.key)}` })),
        el("td", { "data-i18n": `seq.line.${r.key}` }, t(`seq.line.${r.key}`)), el("td", { class: "num" }, fmt(r.value)))));
  }

  drawSeries(s, h, a) {
    const n = s.truth.length, start = s.values.length - n - (s.horizon - 1);
    const from = Math.max(0, start - 2 * n);     // some history before the test period
    const lines = [{ key: "truth", x: s.times.slice(from), y: s.values.slice(from), width: 1.6 }];
    for (const [name, b] of Object.entries(s.baselines)) lines.push({ key: name, x: s.test_times, y: b.forecast, dash: [4, 3], width: 1.2 });
    lines.push({ key: "forecast", x: s.test_times, y: Array.from(a.forecast.data), width: 2.2 });
    plot(this.forecast, lines, { mark: s.test_times[0], label: t("seq.testPeriod") });
    this.legend([{ key: "forecast", value: h.scores?.mae, metric: t("seq.mae") },
      ...Object.entries(s.baselines).map(([k, b]) => ({ key: k, value: b.test_mae }))]);
  }

  drawAdding(s, h, a) {
    const order = s.truth.map((v, i) => [v, i]).sort((p, q) => p[0] - q[0]).slice(0, 400).map((p) => p[1]);
    const x = order.map((_, k) => k);
    plot(this.forecast, [{ key: "truth", x, y: order.map((i) => s.truth[i]), width: 1.8 },
      { key: "forecast", x, y: order.map((i) => a.forecast.data[i]), dots: true }], {});
    this.legend([{ key: "forecast", value: h.metrics.test_mse, metric: t("seq.mse") }]);
  }

  drawText(s, h) {
    if (h.sample) this.sampleText.textContent = h.sample.text;
    this.seqText.textContent = h.sequence?.text ?? "";
    const rows = [{ key: "forecast", value: h.metrics.test_loss, metric: t("seq.nats") }, { key: "bigram", value: s.baselines.bigram.test_loss }];
    this.sampleText.dataset.epoch = h.sample?.epoch ?? "";
    this.legend(rows);
    if (this.table.parentElement !== this.sampleBox) this.sampleBox.append(this.table);
  }

  drawGates(h, a) {
    const names = Object.keys(a).filter((k) => k.startsWith("gate:")).map((k) => k.slice(5));
    if (a.hidden) names.push("hidden");
    const key = names.join(",");
    if (this.gateKey !== key) {
      this.gateKey = key;
      this.gates.replaceChildren(...names.map((n) => el("figure", { "data-testid": `seq-gate-${n}` },
        el("canvas", {}), el("figcaption", { "data-i18n": `seq.gate.${n}` }, t(`seq.gate.${n}`)))));
    }
    names.forEach((n, k) => {
      const arr = n === "hidden" ? a.hidden : a[`gate:${n}`];
      const [T, H] = arr.shape;
      const data = new Float32Array(T * H);    // (T, H) -> units as rows, time steps as columns
      for (let i = 0; i < T; i++) for (let j = 0; j < H; j++) data[j * T + i] = SIGMOID.has(n) ? 2 * arr.data[i * H + j] - 1 : arr.data[i * H + j];
      const c = this.gates.children[k].querySelector("canvas");
      fit(c);
      heatmap(c, { shape: [H, T], data });
    });
  }

  drawTimeGrad(g) {
    const y = Array.from(g, (v) => Math.log10(Math.max(v, 1e-12)));
    plot(this.timegrad, [{ key: "forecast", x: y.map((_, i) => i + 1), y, width: 2, dots: true }], { ylabel: t("seq.log10") });
  }
}

// Lines on a canvas: [{key, x, y, width, dash, dots}], one shared scale; mark: an x drawn as a rule.
function plot(canvas, lines, { mark = null, label = "", ylabel = "" } = {}) {
  fit(canvas);
  const ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height, r = window.devicePixelRatio || 1;
  ctx.clearRect(0, 0, W, H);
  const xs = lines.flatMap((l) => l.x), ys = lines.flatMap((l) => l.y).filter(Number.isFinite);
  if (!xs.length || !ys.length) return;
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)], [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const pad = 28 * r, top = 8 * r;
  const X = (v) => pad + ((v - x0) / (x1 - x0 || 1)) * (W - pad - 8 * r);
  const Y = (v) => H - pad + ((y0 - v) / (y1 - y0 || 1)) * (H - pad - top);
  ctx.font = `${10 * r}px system-ui, sans-serif`;
  ctx.fillStyle = "#7a8794";
  ctx.fillText(fmt(y1, 2), 2, top + 8 * r);
  ctx.fillText(fmt(y0, 2), 2, H - pad);
  ctx.fillText(String(+x0.toFixed(1)), pad, H - 8 * r);
  const last = String(+x1.toFixed(1));
  ctx.fillText(last, W - ctx.measureText(last).width - 2, H - 8 * r);
  if (ylabel) ctx.fillText(ylabel, pad + 4 * r, top + 8 * r);
  if (mark !== null) {
    ctx.strokeStyle = "#c9d1d9";
    ctx.setLineDash([2 * r, 2 * r]);
    ctx.beginPath(); ctx.moveTo(X(mark), top); ctx.lineTo(X(mark), H - pad); ctx.stroke();
    ctx.fillText(label, X(mark) + 4 * r, H - pad - 4 * r);
  }
  for (const l of lines) {
    ctx.strokeStyle = ctx.fillStyle = color(l.key);
    ctx.lineWidth = (l.width || 1.5) * r;
    ctx.setLineDash((l.dash || []).map((d) => d * r));
    if (l.dots) l.y.forEach((v, i) => { ctx.beginPath(); ctx.arc(X(l.x[i]), Y(v), 1.8 * r, 0, 7); ctx.fill(); });
    if (l.dots && l.key !== "forecast") continue;
    if (l.dots && lines.length > 1) continue;
    ctx.beginPath();
    l.y.forEach((v, i) => { if (i) ctx.lineTo(X(l.x[i]), Y(v)); else ctx.moveTo(X(l.x[i]), Y(v)); });
    ctx.stroke();
  }
  ctx.setLineDash([]);
}
