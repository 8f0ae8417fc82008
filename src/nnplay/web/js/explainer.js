// The image mode's CNN explainer (after CNN Explainer, Wang et al. 2020, and setosa's "image
// kernels"): click a number of a feature map and see how it is made: the input patch under
// the window, the kernel for each input channel, their element-wise products, the sum plus
// bias, then the activation; or, for a pooling layer, which value of the window wins. Arrow
// keys, the buttons or the slider move the window. Every number shown comes from the server's
// "inspect" answer (probes.convolution_at / pooling_at); the page only lays them out.
import { el, image, css, diverging } from "./draw.js";
import { t } from "./i18n.js";

const SHOWN_CHANNELS = 8;      // input channels worked out in full; the others show their sums
const PIC = 120;               // the input and output pictures' size in CSS pixels
const SLIDE_MS = 450;          // the window's pace when it slides by itself
const KINDS = { BatchNorm2d: "layer.batchnorm", Dropout: "layer.dropout", Dropout2d: "layer.dropout" };   // PyTorch class -> label
const num = (v) => (v === null || v === undefined ? "–" : Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2));
const long = (v) => (Math.abs(v) >= 1000 ? v.toFixed(1) : v.toFixed(4));

// a number with its full value kept for tests and tooltips
function value(testid, v, digits = long) {
  return el("b", { class: "num", "data-testid": testid, "data-value": String(v), title: String(v) }, digits(v));
}

// a k x k grid of numbers as a table, each cell tinted by its sign and size; mark: [i, j] ringed
function grid(arr, k0, k1, offset = 0, { mark = null, testid = null } = {}) {
  let top = 0;
  for (let i = 0; i < k0 * k1; i++) top = Math.max(top, Math.abs(arr[offset + i]));
  const rows = [];
  for (let i = 0; i < k0; i++) {
    const cells = [];
    for (let j = 0; j < k1; j++) {
      const v = arr[offset + i * k1 + j];
      const c = diverging(top ? v / top : 0);
      const dark = Math.abs(top ? v / top : 0) > 0.6;
      cells.push(el("td", { style: `background:${css(c)};color:${dark ? "#fff" : "#1f2933"}`, title: String(v),
        class: mark && mark[0] === i && mark[1] === j ? "win" : null }, num(v)));
    }
    rows.push(el("tr", {}, cells));
  }
  return el("table", { class: "xgrid", "data-testid": testid }, el("tbody", {}, rows));
}

// a (H, W) map on a canvas with a margin of `pad` cells, and a box over rows/cols [top, top+k0) x [left, left+k1)
function picture(data, H, W, { pad = 0, box = null, testid = null, signed = false } = {}) {
  const s = Math.max(2, Math.floor(PIC / (Math.max(H, W) + 2 * pad)));
  const c = el("canvas", { width: (W + 2 * pad) * s, height: (H + 2 * pad) * s, class: "xpic", "data-testid": testid });
  const src = el("canvas", { width: W, height: H });
  image(src, data, H, W, { signed });
  const ctx = c.getContext("2d");
  ctx.fillStyle = "#e4e7eb";                      // the zero padding around the input
  ctx.fillRect(0, 0, c.width, c.height);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(src, pad * s, pad * s, W * s, H * s);
  if (box) {
    ctx.strokeStyle = "#d62728"; ctx.lineWidth = 2;
    ctx.strokeRect((box.left + pad) * s + 1, (box.top + pad) * s + 1, box.k1 * s - 2, box.k0 * s - 2);
  }
  return c;
}

export class Explainer {
  // app: {session} ; view: the ImageView (its frame's feature maps)
  constructor(app) {
    this.app = app;
    this.at = null;          // {layer, unit, row, col}: the number explained
    this.answer = null;      // the last "inspect" answer {header, arrays}
    this.waiting = false;
    this.title = el("div", { class: "x-title", "data-testid": "explain-title" });
    this.pos = el("input", { type: "range", min: 0, max: 0, step: 1, value: 0, "data-testid": "explain-pos", "data-help": "explainSlide" });
    this.pos.addEventListener("input", () => {
      const [, , W] = this.shape();
      const p = Number(this.pos.value);
      this.go({ row: Math.floor(p / W), col: p % W });
    });
    const move = (testid, dr, dc, du, label) => el("button", { class: "ghost mini-move", "data-testid": testid, "data-help": "explainMove",
      onclick: () => this.step(dr, dc, du) }, label);
    this.nav = el("div", { class: "x-nav" },
      move("explain-prev-unit", 0, 0, -1, "‹"), el("span", { "data-i18n": "explain.filter" }, t("explain.filter")),
      move("explain-next-unit", 0, 0, 1, "›"),
      move("explain-left", 0, -1, 0, "←"), move("explain-up", -1, 0, 0, "↑"), move("explain-down", 1, 0, 0, "↓"),
      move("explain-right", 0, 1, 0, "→"), this.pos,
      this.play = el("button", { class: "ghost", "data-testid": "explain-play", "data-help": "explainPlay", onclick: () => this.slide() },
        el("span", { "data-i18n": "explain.slide" }, t("explain.slide"))));
    this.pics = el("div", { class: "x-pics", "data-testid": "explain-pics" });
    this.math = el("div", { class: "x-math", "data-testid": "explain-math" });
    this.result = el("div", { class: "x-result", "data-testid": "explain-result" });
    this.body = el("div", { class: "x-body", hidden: true }, this.title, this.nav, this.pics, this.math, this.result);
    this.empty = el("p", { class: "hint small", "data-i18n": "explain.hint" }, t("explain.hint"));
    this.root = el("section", { class: "cnn-explain", tabindex: 0, "data-testid": "explain", "data-help": "explain" },
      el("h2", { "data-i18n": "h.explain" }, t("h.explain")), this.empty, this.body);
    this.root.addEventListener("keydown", (e) => {
      const keys = { ArrowLeft: [0, -1, 0], ArrowRight: [0, 1, 0], ArrowUp: [-1, 0, 0], ArrowDown: [1, 0, 0],
        PageUp: [0, 0, -1], PageDown: [0, 0, 1] };
      if (!keys[e.key] || !this.at) return;
      e.preventDefault();
      this.step(...keys[e.key]);
    });
  }

  get session() { return this.app.session; }

  // the explained layer's output shape (C, H, W), from the latest frame
  shape() {
    const arr = this.session?.frame?.arrays[`fmap:${this.at?.layer}`];
    return arr ? arr.shape : [1, 1, 1];
  }

  // a new session or network: keep the place while its layer still exists
  reset(session) {
    if (this.at && !(this.at.layer in (session.info?.explainable || {}))) this.at = null;
    if (!this.at && this.timer) this.slide();
    if (!this.at) { this.answer = null; this.body.hidden = true; this.empty.hidden = false; return; }
    if (this.answer) this.render();
  }

  select(at) {
    this.at = { ...at };
    this.root.focus({ preventScroll: true });
    this.ask();
  }

  go(change) {
    this.at = { ...this.at, ...change };
    this.ask();
  }

  // move the window by (dr, dc) cells, or to the next/previous filter (du), staying inside
  step(dr, dc, du) {
    const [C, H, W] = this.shape();
    const clamp = (v, n) => Math.max(0, Math.min(n - 1, v));
    this.go({ unit: clamp(this.at.unit + du, C), row: clamp(this.at.row + dr, H), col: clamp(this.at.col + dc, W) });
  }

  ask() {
    if (!this.at || !this.session) return;
    this.waiting = true;
    this.session.send({ type: "inspect", ...this.at });
  }

  // slide the window across the whole input, one place per SLIDE_MS (again: stop)
  slide() {
    if (this.timer) { clearInterval(this.timer); this.timer = null; this.play.classList.remove("running"); return; }
    if (!this.at) return;
    this.play.classList.add("running");
    this.go({ row: 0, col: 0 });
    this.timer = setInterval(() => {
      if (this.waiting) return;
      const [, H, W] = this.shape();
      const p = this.at ? this.at.row * W + this.at.col + 1 : H * W;
      if (p >= H * W) { this.slide(); return; }
      this.go({ row: Math.floor(p / W), col: p % W });
    }, SLIDE_MS);
  }

  // a new frame (training went on, another image): ask again, one request at a time
  onFrame() { if (this.at && !this.waiting) this.ask(); }

  onError() { this.waiting = false; }

  onAnswer(f) {
    this.waiting = false;
    this.answer = f;
    this.render();
  }

  render() {
    const { header: h, arrays: a } = this.answer;
    this.empty.hidden = true;
    this.body.hidden = false;
    const [, H, W] = this.shape();
    this.pos.max = H * W - 1;
    this.pos.value = h.row * W + h.col;
    this.title.replaceChildren(el("span", {}, t(h.kind === "conv" ? "explain.convTitle" : "explain.poolTitle",
      { layer: h.layer, unit: h.unit, row: h.row, col: h.col })));
    this.title.dataset.layer = h.layer;
    this.title.dataset.place = `${h.unit},${h.row},${h.col}`;
    if (h.kind === "conv") this.renderConv(h, a);
    else this.renderPool(h, a);
  }

  // the output map of the clicked layer, its number ringed
  outputPicture(h) {
    const arr = this.session.frame?.arrays[`fmap:${h.layer}`];
    if (!arr) return null;
    const [, H, W] = arr.shape;
    return el("figure", {}, picture(arr.data.subarray(h.unit * H * W, (h.unit + 1) * H * W), H, W,
      { box: { top: h.row, left: h.col, k0: 1, k1: 1 }, testid: "explain-output" }),
    el("figcaption", {}, t("explain.output", { layer: h.layer, unit: h.unit })));
  }

  renderConv(h, a) {
    const [C, k0, k1] = a.patch.shape;
    const [, H, W] = a.input.shape;
    const shown = Math.min(C, SHOWN_CHANNELS);
    const inputs = [];
    for (let c = 0; c < shown; c++) {
      inputs.push(el("figure", {}, picture(a.input.data.subarray(c * H * W, (c + 1) * H * W), H, W,
        { pad: Math.max(...h.padding), box: { top: h.top, left: h.left, k0, k1 }, testid: `explain-input-${c}` }),
      el("figcaption", {}, t("explain.inputChannel", { layer: h.input_layer, c }))));
    }
    this.pics.replaceChildren(...inputs, el("span", { class: "x-arrow" }, "→"), this.outputPicture(h));
    const rows = [];
    for (let c = 0; c < shown; c++) {
      const o = c * k0 * k1;
      rows.push(el("div", { class: "x-row", "data-testid": `explain-channel-${c}` },
        el("span", { class: "x-label" }, t("explain.channel", { c })),
        el("figure", {}, grid(a.patch.data, k0, k1, o, { testid: `explain-patch-${c}` }), el("figcaption", {}, t("explain.patch"))),
        el("span", { class: "x-op" }, "×"),
        el("figure", {}, grid(a.kernel.data, k0, k1, o, { testid: `explain-kernel-${c}` }), el("figcaption", {}, t("explain.kernel"))),
        el("span", { class: "x-op" }, "="),
        el("figure", {}, grid(a.products.data, k0, k1, o, { testid: `explain-products-${c}` }), el("figcaption", {}, t("explain.products"))),
        el("span", { class: "x-op" }, "Σ"), value(`explain-channel-sum-${c}`, a.channel_sums.data[c])));
    }
    if (C > shown) {
      const rest = Array.from(a.channel_sums.data.subarray(shown), (v) => num(v)).join(" + ");
      rows.push(el("p", { class: "hint small" }, t("explain.more", { n: C - shown, sums: rest })));
    }
    this.math.replaceChildren(...rows);
    const after = h.after.map((s, i) => el("div", { class: "x-line" },
      el("span", {}, s.activation ? t("explain.activation", { name: t(`act.${s.activation}`) }) : t("explain.then", { name: t(KINDS[s.kind] || s.kind) })), " = ",
      value(`explain-after-${i}`, s.value)));
    this.result.replaceChildren(
      el("div", { class: "x-line" }, el("span", {}, t("explain.sum", { n: C })), " = ", value("explain-sum", h.sum)),
      el("div", { class: "x-line" }, el("span", {}, t("explain.bias", { unit: h.unit })), " = ", value("explain-bias", h.bias)),
      el("div", { class: "x-line total" }, el("span", {}, t("explain.z")), " = ", value("explain-z", h.z)),
      ...after);
  }

  renderPool(h, a) {
    const [k0, k1] = a.window.shape;
    const [, H, W] = a.input.shape;
    this.pics.replaceChildren(
      el("figure", {}, picture(a.input.data.subarray(h.unit * H * W, (h.unit + 1) * H * W), H, W,
        { box: { top: h.top, left: h.left, k0, k1 }, testid: "explain-input-0" }),
      el("figcaption", {}, t("explain.inputChannel", { layer: h.input_layer, c: h.unit }))),
      el("span", { class: "x-arrow" }, "→"), this.outputPicture(h));
    this.math.replaceChildren(el("div", { class: "x-row" },
      el("figure", {}, grid(a.window.data, k0, k1, 0, { mark: h.winner, testid: "explain-window" }), el("figcaption", {}, t("explain.window"))),
      el("span", { class: "x-op" }, "→"),
      el("span", { class: "hint small" }, t(h.op === "max" ? "explain.maxRule" : "explain.avgRule"))));
    this.result.replaceChildren(el("div", { class: "x-line total" },
      el("span", {}, t(h.op === "max" ? "explain.max" : "explain.avg")), " = ", value("explain-value", h.value)));
  }
}

// How the output layer's logits become probabilities: one row per class (frame header
// image.softmax, from probes.softmax_at).
export function softmaxTable(sm, names) {
  if (!sm) return [];
  const best = sm.probs.indexOf(Math.max(...sm.probs));
  const head = el("tr", {}, ...["softmax.class", "softmax.logit", "softmax.shifted", "softmax.exp", "softmax.prob"]
    .map((k) => el("th", { "data-i18n": k }, t(k))));
  const rows = sm.probs.map((p, k) => el("tr", { class: k === best ? "best" : null, "data-testid": `softmax-row-${k}` },
    el("td", {}, names[k] ?? String(k)), el("td", {}, long(sm.logits[k])), el("td", {}, long(sm.shifted[k])),
    el("td", {}, long(sm.exps[k])), el("td", { "data-value": String(p) }, `${(100 * p).toFixed(1)}%`)));
  return [el("p", { class: "hint small", "data-i18n": "softmax.rule" }, t("softmax.rule")),
    el("table", { class: "softmax-table" }, el("thead", {}, head), el("tbody", {}, rows)),
    el("p", { class: "small" }, t("softmax.sum"), " ", value("softmax-sum", sm.sum))];
}
