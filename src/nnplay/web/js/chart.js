// Loss curves and the learning rate: one point per frame, thinned to at most MAX points.
// The lr (metrics.lr: a schedule's or a live change's) is dashed, on its own log scale.
import { fit } from "./draw.js";

const MAX = 600;
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

  draw() {
    const c = this.canvas;
    fit(c);
    const ctx = c.getContext("2d");
    const r = window.devicePixelRatio || 1;
    ctx.clearRect(0, 0, c.width, c.height);
    const pad = 4 * r;
    const w = c.width - 2 * pad, h = c.height - 2 * pad;
    ctx.strokeStyle = "#e3e7ec";
    ctx.lineWidth = r;
    for (let i = 0; i <= 4; i++) {
      const y = pad + (h * i) / 4;
      ctx.beginPath(); ctx.moveTo(pad, y); ctx.lineTo(pad + w, y); ctx.stroke();
    }
    if (this.rows.length < 1) return;
    let top = 0;   // the scale skips the first tenth of the curve: its early spike would flatten the rest
    const skip = this.rows.length > 20 ? Math.floor(this.rows.length / 10) : 0;
    for (const row of this.rows.slice(skip)) for (const s of SERIES) if (Number.isFinite(row[s.key])) top = Math.max(top, row[s.key]);
    top = 1.1 * top || 1;
    const e0 = this.rows[0].epoch, e1 = Math.max(this.rows[this.rows.length - 1].epoch, e0 + 1);
    for (const s of SERIES) {
      ctx.beginPath();
      ctx.strokeStyle = s.color;
      ctx.lineWidth = s.width * r;
      let started = false;
      for (const row of this.rows) {
        const v = row[s.key];
        if (!Number.isFinite(v)) continue;
        const x = pad + (w * (row.epoch - e0)) / (e1 - e0);
        const y = pad + h - (h * Math.min(v, top)) / top;
        if (started) ctx.lineTo(x, y); else { ctx.moveTo(x, y); started = true; }
      }
      ctx.stroke();
    }
    ctx.fillStyle = "#7a8794";
    ctx.font = `${10 * r}px system-ui, sans-serif`;
    ctx.fillText(top.toPrecision(2), pad + 2 * r, pad + 10 * r);
    this.drawLr(ctx, r, pad, w, h, e0, e1);
  }

  // log10(lr) between its lowest and highest so far (a constant lr: a line across the middle)
  drawLr(ctx, r, pad, w, h, e0, e1) {
    const rows = this.rows.filter((row) => row.lr > 0);
    if (!rows.length) return;
    const logs = rows.map((row) => Math.log10(row.lr));
    const lo = Math.min(...logs), hi = Math.max(...logs);
    const y = (v) => (hi > lo ? pad + h - (h * 0.9 * (v - lo)) / (hi - lo) : pad + h / 2);
    ctx.save();
    ctx.setLineDash([4 * r, 3 * r]);
    ctx.strokeStyle = LR.color;
    ctx.lineWidth = LR.width * r;
    ctx.beginPath();
    rows.forEach((row, i) => {
      const x = pad + (w * (row.epoch - e0)) / (e1 - e0);
      if (i) ctx.lineTo(x, y(logs[i])); else ctx.moveTo(x, y(logs[i]));
    });
    ctx.stroke();
    ctx.fillStyle = LR.color;
    ctx.textAlign = "right";
    ctx.fillText(`lr ${lrText(rows[rows.length - 1].lr)}`, pad + w - 2 * r, pad + 10 * r);
    ctx.restore();
  }
}
