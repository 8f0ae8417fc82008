// Loss curves and the learning rate: one point per frame, thinned to at most MAX points.
// The lr (metrics.lr: a schedule's or a live change's) is dashed, on its own log scale.
import { fit } from "./draw.js";

const MAX = 600;
const MARGIN = { left: 30, right: 6, top: 12, bottom: 16 };   // CSS pixels

// a round step (1, 2 or 5 times a power of ten) near x
function niceStep(x) {
  const p = 10 ** Math.floor(Math.log10(Math.max(x, 1)));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= x) || 10 * p;
}
const LR = { key: "lr", color: "#c2410c", width: 1.2 };
export const lrText = (v) => (Number.isFinite(v) ? String(Number(v.toPrecision(3))) : "");
const SERIES = [
  { key: "train_loss", color: "#7a8794", width: 1.6 },
  { key: "test_loss", color: "#1f2933", width: 1.8 },
];

export class Chart {
  constructor(canvas) {
    this.canvas = canvas;
    this.clear();
  }

  clear() {
    this.rows = [];
    this.draw();
  }

  add(epoch, metrics) {
    const last = this.rows[this.rows.length - 1];
    if (last && last.epoch === epoch) this.rows[this.rows.length - 1] = { epoch, ...metrics };
    else this.rows.push({ epoch, ...metrics });
    if (this.rows.length > MAX) this.rows = this.rows.filter((_, i) => i % 2 === 0 || i === this.rows.length - 1);
  }

  // The plot sits inside margins that hold its labels (loss on the left, epochs below, the lr
  // above), so no label covers a curve; this.layout records where each went (CSS pixels).
  draw() {
    const c = this.canvas;
    fit(c);
    const ctx = c.getContext("2d");
    const r = window.devicePixelRatio || 1;
    ctx.setTransform(r, 0, 0, r, 0, 0);
    ctx.clearRect(0, 0, c.width, c.height);
    const W = c.width / r, H = c.height / r;
    const x0 = MARGIN.left, y0 = MARGIN.top, w = Math.max(1, W - MARGIN.left - MARGIN.right), h = Math.max(1, H - MARGIN.top - MARGIN.bottom);
    this.layout = { plot: { x0, y0, x1: x0 + w, y1: y0 + h }, labels: [] };
    ctx.strokeStyle = "#e3e7ec";
    ctx.lineWidth = 1;
    for (let i = 0; i <= 4; i++) {
      const y = y0 + (h * i) / 4;
      ctx.beginPath(); ctx.moveTo(x0, y); ctx.lineTo(x0 + w, y); ctx.stroke();
    }
    if (this.rows.length < 1) return;
    let top = 0;   // the scale skips the first tenth of the curve: its early spike would flatten the rest
    const skip = this.rows.length > 20 ? Math.floor(this.rows.length / 10) : 0;
    for (const row of this.rows.slice(skip)) for (const s of SERIES) if (Number.isFinite(row[s.key])) top = Math.max(top, row[s.key]);
    top = 1.1 * top || 1;
    const e0 = this.rows[0].epoch, e1 = Math.max(this.rows[this.rows.length - 1].epoch, e0 + 1);
    const X = (e) => x0 + (w * (e - e0)) / (e1 - e0);
    for (const s of SERIES) {
      ctx.beginPath();
      ctx.strokeStyle = s.color;
      ctx.lineWidth = s.width;
      let started = false;
      for (const row of this.rows) {
        const v = row[s.key];
        if (!Number.isFinite(v)) continue;
        const x = X(row.epoch);
        const y = y0 + h - (h * Math.min(v, top)) / top;
        if (started) ctx.lineTo(x, y); else { ctx.moveTo(x, y); started = true; }
      }
      ctx.stroke();
    }
    ctx.font = "10px system-ui, sans-serif";
    ctx.fillStyle = "#7a8794";
    // the loss axis: its top and 0, right-aligned in the left margin
    this.label(ctx, "loss", top.toPrecision(2), x0 - 4, y0 + 4, "right");
    this.label(ctx, "loss", "0", x0 - 4, y0 + h, "right");
    // the epoch axis: about five round epochs under the plot
    const step = niceStep((e1 - e0) / 5);
    ctx.strokeStyle = "#c4ccd5";
    for (let e = Math.ceil(e0 / step) * step; e <= e1; e += step) {
      const x = X(e);
      ctx.beginPath(); ctx.moveTo(x, y0 + h); ctx.lineTo(x, y0 + h + 3); ctx.stroke();
      this.label(ctx, "epoch", e.toLocaleString("en-US"), Math.min(Math.max(x, x0), x0 + w), y0 + h + 13,
        x > x0 + w - 12 ? "right" : x < x0 + 12 ? "left" : "center");
    }
    this.drawLr(ctx, x0, y0, w, h, X);
  }

  // Text at (x, baseline y) and its box in this.layout.labels.
  label(ctx, axis, text, x, y, align) {
    ctx.textAlign = align;
    ctx.fillText(text, x, y);
    const tw = ctx.measureText(text).width;
    const left = align === "right" ? x - tw : align === "center" ? x - tw / 2 : x;
    this.layout.labels.push({ axis, text, x0: left, x1: left + tw, y0: y - 9, y1: y + 2 });
  }

  // log10(lr) between its lowest and highest so far (a constant lr: a line across the middle);
  // its value in the top margin, at the right
  drawLr(ctx, x0, y0, w, h, X) {
    const rows = this.rows.filter((row) => row.lr > 0);
    if (!rows.length) return;
    const logs = rows.map((row) => Math.log10(row.lr));
    const lo = Math.min(...logs), hi = Math.max(...logs);
    const y = (v) => (hi > lo ? y0 + h - (h * 0.9 * (v - lo)) / (hi - lo) : y0 + h / 2);
    ctx.save();
    ctx.setLineDash([4, 3]);
    ctx.strokeStyle = LR.color;
    ctx.lineWidth = LR.width;
    ctx.beginPath();
    rows.forEach((row, i) => {
      const x = X(row.epoch);
      if (i) ctx.lineTo(x, y(logs[i])); else ctx.moveTo(x, y(logs[i]));
    });
    ctx.stroke();
    ctx.fillStyle = LR.color;
    this.label(ctx, "lr", `lr ${lrText(rows[rows.length - 1].lr)}`, x0 + w, y0 - 3, "right");
    ctx.restore();
  }
}
