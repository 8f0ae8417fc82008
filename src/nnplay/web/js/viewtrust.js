// The "Can we believe it?" (믿을 수 있을까?) tab, image mode: adversarial examples, attribution
// maps and uncertainty for the network being trained. It sends `trust` messages and draws
// the answers (protocol.md); every number shown comes from an answer.
import { el, image, fit, css, diverging, CLASS_COLORS, NEG, POS } from "./draw.js";
import { t } from "./i18n.js";
import { select, slider, heading } from "./widgets.js";
import * as schema from "./schema.js";

// the test images' color, then one per kind of out-of-distribution input (in the server's order),
// all from the hello's palette (read when drawn)
const oodColors = () => [POS, CLASS_COLORS[7], NEG, CLASS_COLORS[4], CLASS_COLORS[2], CLASS_COLORS[3]];
const pct = (p) => `${(100 * p).toFixed(0)}%`;

export class TrustView {
  // root: <main>; app: {session}
  constructor(root, app) {
    this.app = app;
    const lists = app.hello.options.trust;   // the library's methods and OOD kinds
    this.explainMethods = lists.explain;
    this.kinds = ["test", ...lists.ood];
    this.req = { image: 0, method: lists.attack[0], eps: schema.defaultOf("train.adversarial.eps"), unc: lists.uncertainty[0] };
    this.asked = {};      // what -> the request key outstanding or answered
    this.answers = {};
    this.gallery = el("div", { class: "gallery", "data-testid": "trust-gallery" });
    this.method = select("trust-method", lists.attack.map((m) => ({ value: m, label: m.toUpperCase() })),
      (v) => { this.req.method = v; this.ask("attack"); }, "trustMethod");
    this.eps = slider("trust-eps", schema.range("train.adversarial.eps"), (v) => v.toFixed(2),
      (v) => { this.req.eps = v; this.ask("attack"); }, "trustEps");
    this.eps.set(this.req.eps);
    this.method.set(this.req.method);
    const pic = (testid, key) => {
      const c = el("canvas", { width: 96, height: 96, class: "trust-img", "data-testid": testid });
      return [c, el("figure", {}, c, el("figcaption", { "data-i18n": key }, t(key)))];
    };
    [this.cOrig, this.fOrig] = pic("trust-original", "trust.original");
    [this.cPert, this.fPert] = pic("trust-perturbation", "trust.perturbation");
    [this.cAdv, this.fAdv] = pic("trust-adversarial", "trust.adversarial");
    this.predClean = el("b", { "data-testid": "trust-pred-clean" }, "–");
    this.predAdv = el("b", { "data-testid": "trust-pred-adv" }, "–");
    this.testAcc = el("p", { class: "hint small", "data-testid": "trust-test-acc" });
    this.attackA = el("section", { class: "col trust-col", "data-testid": "trust-attack" },
      heading("trust.h.attack"), el("p", { class: "hint small", "data-i18n": "trust.attack.hint" }, t("trust.attack.hint")),
      this.gallery,
      el("label", { class: "field", "data-help": "trustMethod" }, el("span", { class: "label", "data-i18n": "trust.method" }, t("trust.method")), this.method),
      el("label", { class: "field", "data-help": "trustEps" }, el("span", { class: "label", "data-i18n": "trust.eps" }, t("trust.eps")), this.eps),
      el("div", { class: "trust-pics" }, this.fOrig, this.fPert, this.fAdv),
      el("div", { class: "losses" },
        el("div", {}, el("span", { "data-i18n": "trust.pred.clean" }, t("trust.pred.clean")), this.predClean),
        el("div", {}, el("span", { "data-i18n": "trust.pred.adv" }, t("trust.pred.adv")), this.predAdv)),
      this.testAcc);
    this.maps = {};
    this.explainBox = el("div", { class: "trust-maps" }, this.explainMethods.map((m) => {
      const c = el("canvas", { width: 96, height: 96, class: "trust-img", "data-testid": `trust-explain-${m}` });
      this.maps[m] = c;
      return el("figure", {}, c, el("figcaption", { "data-i18n": `trust.m.${m}` }, t(`trust.m.${m}`)));
    }));
    this.explainNote = el("p", { class: "hint small", "data-testid": "trust-explain-note" });
    this.explainA = el("section", { class: "col trust-col", "data-testid": "trust-explain" },
      heading("trust.h.explain"), el("p", { class: "hint small", "data-i18n": "trust.explain.hint" }, t("trust.explain.hint")),
      this.explainBox, this.explainNote);
    this.uncMethod = select("trust-unc-method", lists.uncertainty.map((m) => ({ value: m, key: `trust.unc.${m}` })),
      (v) => { this.req.unc = v; this.ask("uncertainty"); }, "trustUnc");
    this.ece = el("b", { "data-testid": "trust-ece" }, "–");
    this.auroc = el("b", { "data-testid": "trust-auroc" }, "–");
    this.reliability = el("canvas", { class: "trust-chart", "data-testid": "trust-reliability" });
    this.hist = el("canvas", { class: "trust-chart", "data-testid": "trust-ood" });
    this.oodRows = el("div", { class: "trust-ood-rows" });
    this.uncA = el("section", { class: "col trust-col", "data-testid": "trust-uncertainty" },
      heading("trust.h.uncertainty"), el("p", { class: "hint small", "data-i18n": "trust.unc.hint" }, t("trust.unc.hint")),
      el("label", { class: "field", "data-help": "trustUnc" }, el("span", { class: "label", "data-i18n": "trust.method" }, t("trust.method")), this.uncMethod),
      el("div", { class: "losses" },
        el("div", { "data-help": "trustEce" }, el("span", { "data-i18n": "trust.ece" }, t("trust.ece")), this.ece),
        el("div", { "data-help": "trustAuroc" }, el("span", { "data-i18n": "trust.auroc" }, t("trust.auroc")), this.auroc)),
      el("h3", { "data-i18n": "trust.h.reliability" }, t("trust.h.reliability")), this.reliability,
      el("h3", { "data-i18n": "trust.h.ood" }, t("trust.h.ood")), this.hist, this.oodRows);
    root.append(this.attackA, this.explainA, this.uncA);
  }

  // Show the tab for session: thumbnails, then ask for whatever is missing or stale.
  open(session) {
    this.session = session;
    const imgs = session.images;
    if (imgs) {
      const [, h, w] = imgs.shape;
      this.gallery.replaceChildren(...imgs.pixels.slice(0, 20).map((px, i) => {
        const c = el("canvas", { width: w, height: h });
        image(c, Float32Array.from(px), h, w, { lo: 0, hi: 1 });
        return el("button", { class: `thumb${i === this.req.image ? " selected" : ""}`, "data-testid": `trust-pick-${i}`,
          onclick: () => { this.req.image = i; this.open(session); this.ask("attack"); this.ask("explain"); } }, c);
      }));
    }
    for (const f of Object.values(this.answers)) this.draw(f);   // texts in the current language
    this.refresh();
  }

  // Ask again for every answer older than the network's latest epoch (training goes on).
  refresh() {
    const epoch = this.session?.frame?.header.epoch ?? 0;
    for (const what of ["attack", "explain", "uncertainty"]) {
      const a = this.answers[what];
      if (!a || a.header.epoch !== epoch) this.ask(what, true);
    }
  }

  ask(what, onlyIfIdle = false) {
    if (!this.session) return;
    if (onlyIfIdle && this.asked[what]) return;   // one request of each kind in flight
    const r = this.req;
    const msg = { type: "trust", what, image: r.image };
    if (what === "attack") Object.assign(msg, { method: r.method, eps: r.eps });
    if (what === "uncertainty") msg.method = r.unc;
    this.asked[what] = true;
    this.session.send(msg);
  }

  onAnswer(f) {
    const h = f.header;
    this.asked[h.what] = false;
    this.answers[h.what] = f;
    this.draw(f);
  }

  draw(f) {
    const h = f.header;
    const names = this.session.info.class_names;
    if (h.what === "attack") this.drawAttack(h, f.arrays, names);
    else if (h.what === "explain") this.drawExplain(h, f.arrays, names);
    else this.drawUncertainty(h, f.arrays);
  }

  onError() { this.asked = {}; }

  drawAttack(h, a, names) {
    const [, H, W] = a.input.shape;
    image(this.cOrig, a.input.data, H, W, { lo: 0, hi: 1 });
    image(this.cPert, a.perturbation.data, H, W, { signed: true });   // scaled to its own size
    image(this.cAdv, a.adversarial.data, H, W, { lo: 0, hi: 1 });
    const say = (p) => `${names[p.pred]} (${pct(p.probs[p.pred])})`;
    this.predClean.textContent = say(h.clean);
    this.predAdv.textContent = say(h.adversarial);
    this.predAdv.classList.toggle("flipped", h.adversarial.pred !== h.clean.pred);
    this.testAcc.textContent = t("trust.test.acc", { method: h.method.toUpperCase(), eps: h.eps.toFixed(2),
      clean: pct(h.test.clean_accuracy), adv: pct(h.test.adversarial_accuracy) });
  }

  drawExplain(h, a, names) {
    const [, H, W] = a.input.shape;
    for (const m of this.explainMethods) overlay(this.maps[m], a.input.data, a[`attr:${m}`]?.data, H, W);
    const gap = h.completeness_gap !== undefined ? t("trust.gap", { gap: h.completeness_gap.toFixed(3) }) : "";
    this.explainNote.textContent = `${t("trust.explained", { cls: names[h.target] ?? "–" })} ${gap}`;
  }

  drawUncertainty(h, a) {
    this.ece.textContent = h.ece.toFixed(3);
    this.auroc.textContent = h.ood_auroc.toFixed(3);
    reliabilityDiagram(this.reliability, h.bins);
    const colors = oodColors();
    const color = (k) => colors[this.kinds.indexOf(k) % colors.length];
    const series = this.kinds.map((k) => [color(k), a[`confidence:${k}`]?.data]).filter(([, d]) => d);
    histograms(this.hist, series);
    this.oodRows.replaceChildren(...this.kinds.map((k) => el("div", { class: "trust-ood-row" },
      el("i", { style: `background:${css(color(k))}` }), el("span", { "data-i18n": `trust.ood.${k}` }, t(`trust.ood.${k}`)),
      el("b", { "data-testid": `trust-auroc-${k}` }, k === "test" ? t("trust.conf", { c: pct(h.mean_confidence) })
        : `${t("trust.conf", { c: pct(h.ood[k].mean_confidence) })} · AUROC ${h.ood[k].auroc.toFixed(3)}`))));
  }
}

// The image in grey with the attribution on top: blue = evidence for the class, orange = against.
function overlay(canvas, img, attr, h, w) {
  image(canvas, img, h, w, { lo: 0, hi: 1 });
  if (!attr) return;
  let top = 0;
  for (let i = 0; i < h * w; i++) top = Math.max(top, Math.abs(attr[i]));
  const ctx = canvas.getContext("2d");
  const sx = canvas.width / w, sy = canvas.height / h;
  for (let i = 0; i < h * w; i++) {
    const v = top ? attr[i] / top : 0;
    ctx.fillStyle = css(diverging(v), Math.min(0.85, Math.abs(v)));
    ctx.fillRect((i % w) * sx, Math.floor(i / w) * sy, sx, sy);
  }
}

// Axes with room above 1 (a full bar and its tick show whole) and labelled y ticks
// [[value, text]]; x runs over confidence 0..1.
function axes(canvas, yTicks) {
  fit(canvas);
  const ctx = canvas.getContext("2d");
  const r = window.devicePixelRatio || 1;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const left = 32 * r, top = 12 * r, bottom = 18 * r, right = 8 * r;
  const W = canvas.width - left - right, H = canvas.height - top - bottom;
  const x = (v) => left + v * W, y = (v) => top + (1 - v) * H;
  ctx.font = `${10 * r}px system-ui, sans-serif`;
  ctx.fillStyle = "#6b7785";
  ctx.textAlign = "right"; ctx.textBaseline = "middle";
  ctx.lineWidth = r;
  for (const [v, text] of yTicks) {
    ctx.strokeStyle = "#eef1f4";
    ctx.beginPath(); ctx.moveTo(x(0), y(v)); ctx.lineTo(x(1), y(v)); ctx.stroke();
    ctx.fillText(text, left - 5 * r, y(v));
  }
  ctx.strokeStyle = "#c9d1d9";
  ctx.beginPath(); ctx.moveTo(x(0), top - 8 * r); ctx.lineTo(x(0), y(0)); ctx.lineTo(x(1), y(0)); ctx.stroke();
  ctx.textAlign = "center"; ctx.textBaseline = "top";
  for (const v of [0, 0.5, 1]) ctx.fillText(String(v), x(v), y(0) + 4 * r);
  ctx.textAlign = "start"; ctx.textBaseline = "alphabetic";
  return { ctx, r, x, y, W, H };
}

// Accuracy against confidence per bin; the diagonal is a calibrated model.
function reliabilityDiagram(canvas, bins) {
  const { ctx, r, x, y } = axes(canvas, [[0, "0"], [0.5, "0.5"], [1, "1"]]);
  ctx.setLineDash([4 * r, 4 * r]); ctx.strokeStyle = "#9aa5b1";
  ctx.beginPath(); ctx.moveTo(x(0), y(0)); ctx.lineTo(x(1), y(1)); ctx.stroke();
  ctx.setLineDash([]);
  for (const b of bins) {
    if (!b.count) continue;
    ctx.fillStyle = css(POS, 0.75);
    ctx.fillRect(x(b.lo) + r, y(b.accuracy), x(b.hi) - x(b.lo) - 2 * r, y(0) - y(b.accuracy));
    ctx.fillStyle = css(NEG, 0.9);
    ctx.fillRect(x(b.lo) + r, y(b.confidence) - r, x(b.hi) - x(b.lo) - 2 * r, 2 * r);
  }
}

// Share of inputs per confidence bin, one line per input kind: series [[color, shares]].
// Later lines are thinner and dashed, so one that lies on an earlier one leaves it showing.
function histograms(canvas, series) {
  const top = Math.max(0.05, ...series.flatMap(([, d]) => Array.from(d)));
  const { ctx, r, x, y } = axes(canvas, [[0, "0%"], [0.5, pct(top / 2)], [1, pct(top)]]);
  series.forEach(([color, d], k) => {
    ctx.strokeStyle = css(color); ctx.lineWidth = Math.max(1.5, 3 - 0.5 * k) * r;
    ctx.setLineDash(k < 2 ? [] : [(2 + 2 * k) * r, 3 * r]);
    ctx.beginPath();
    d.forEach((v, i) => { const px = x((i + 0.5) / d.length), py = y(v / top); i ? ctx.lineTo(px, py) : ctx.moveTo(px, py); });
    ctx.stroke();
  });
  ctx.setLineDash([]);
}
