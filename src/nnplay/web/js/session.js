// One training session: a socket, the spec it trains, what the server said about it,
// and the latest frame. One frame request is outstanding at a time, so frames come at
// most as fast as the server's cap and each shows the newest state.
import { Connection } from "./socket.js";
import { Chart } from "./chart.js";
import { ANSWERS } from "./viewpractice.js";

export class Session {
  // app: {onHello(session, msg), onReady(session), onUpdated(session), onFrame(session), onError(session, msg),
  //       onState(session), onSaved(session, msg), draw(session), wantSpec(session)}
  constructor(app, name, chartCanvas) {
    this.app = app;
    this.name = name;
    this.spec = null;
    this.info = null;
    this.points = null;
    this.images = null;
    this.frame = null;
    this.running = false;
    this.view = { grid: 50, unit_grid: 20, image: 0 };
    this.chart = new Chart(chartCanvas);
    this.frames = 0;
    this.pending = null;
    this.conn = new Connection({
      message: (m) => this.onMessage(m),
      frame: (f) => this.onFrame(f),
      close: () => { this.running = false; app.onState(this); },
    });
  }

  send(msg) { this.conn.send(msg); }

  setSpec(spec) {
    this.pending = spec;
    this.send({ type: "spec", spec });
  }

  setView(view) {
    Object.assign(this.view, view);
    this.send({ type: "view", ...this.view });
  }

  onMessage(m) {
    if (m.type === "hello") {
      this.hello = m;
      this.app.onHello(this, m);
      this.send({ type: "view", ...this.view });
      const spec = this.spec || this.app.wantSpec(this);
      if (spec) this.setSpec(spec);
      this.send({ type: "frame" });
      if (this.running) this.send({ type: "play" });
    } else if (m.type === "ready") {
      this.spec = m.spec;
      this.info = m.info;
      this.points = m.points || null;
      this.images = m.images || null;
      this.seq = m.sequence || null;   // the Sequences mode's series, truth and baselines
      this.gen = m.generative || null;   // the Generative mode's kind, real points or test images
      this.featureGrids = m.features ? Object.fromEntries(Object.entries(m.features).map(([k, rows]) => [k, grid(rows)])) : null;
      this.frame = null;
      this.pending = null;
      if (!m.kept) this.chart.clear();   // kept: the same network goes on training on new points
      this.app.onReady(this);
    } else if (m.type === "updated") {
      this.spec = m.spec;
      this.pending = null;
      this.app.onUpdated(this);
    } else if (m.type === "state") {
      this.running = m.running;
      this.app.onState(this);
    } else if (m.type === "saved") {
      this.app.onSaved(this, m);
    } else if (m.type === "measured") {
      this.app.lessons?.onMeasured(this, m);   // a lesson's claim, measured when its epochs are trained
    } else if (m.type === "error") {
      this.pending = null;
      this.app.onError(this, m);
    }
  }

  // Ask for the next frame as soon as one arrives (the server makes it after the epoch it
  // is training, or between its batches when it is long; at most limits.fps a second), and
  // draw only the newest at the display's rate.
  onFrame(f) {
    if (f.header.type === "trust") { this.app.onTrust?.(this, f); return; }   // an answer, not a frame
    if (f.header.type === "inspect") { this.app.imageView?.onInspect(this, f); return; }   // the CNN explainer's answer
    if (ANSWERS.includes(f.header.type)) { this.app.practice?.onAnswer(this, f); return; }
    this.frame = f;
    this.frames += 1;
    this.send({ type: "frame" });
    const h = f.header;
    this.chart.add(h.epoch, h.metrics);
    if (!this.scheduled) {
      this.scheduled = true;
      requestAnimationFrame(() => {
        this.scheduled = false;
        this.app.draw(this);
      });
    }
  }
}

// rows of numbers -> {shape, data, scale} with scale mapping the largest |value| to 1
function grid(rows) {
  const data = Float32Array.from(rows.flat());
  const top = data.reduce((m, v) => Math.max(m, Math.abs(v)), 0) || 1;
  return { shape: [rows.length, rows[0].length], data, scale: 1 / top };
}
