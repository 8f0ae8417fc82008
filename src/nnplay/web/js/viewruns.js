// The "Runs" view: the run store's index as a sortable table, the curves of the runs picked
// overlaid (TensorBoard's comparison on nnplay's own runs), each run's report, and the sweeps
// with their best trial. Everything shown comes from the read-only /api/dashboard routes.
import { el, fit, css, CLASS_COLORS } from "./draw.js";
import { t, lang } from "./i18n.js";
import { heading } from "./widgets.js";

// the table's columns: keys of the index rows (runs.overview); labels are i18n keys runs.col.<key>
const COLUMNS = ["status", "name", "data", "model", "epochs", "test_metric", "test_loss", "created"];
const num = (v, d = 4) => (typeof v === "number" ? Number(v.toPrecision(d)).toString() : "–");

export class RunsView {
  // root: <main>; app: {writeURL(), openPredict(runId), showError(title, msg)}
  constructor(root, app) {
    this.app = app;
    this.rows = [];
    this.sweeps = [];
    this.sort = "-created";
    this.picked = [];            // run ids whose curves are overlaid, in the order picked
    this.curves = new Map();     // run id -> [{epoch, train_loss, ...}]
    this.table = el("table", { class: "runs-table", "data-testid": "runs-table" });
    this.count = el("span", { class: "hint small", "data-testid": "runs-count" });
    this.sweepBox = el("div", { "data-testid": "sweeps" });
    this.lossChart = el("canvas", { class: "runs-chart", "data-testid": "runs-chart-loss" });
    this.metricChart = el("canvas", { class: "runs-chart", "data-testid": "runs-chart-metric" });
    this.legend = el("div", { class: "runs-legend", "data-testid": "runs-legend" });
    this.lossTitle = el("h3", {});
    this.metricTitle = el("h3", {});
    this.compareHint = el("p", { class: "hint small", "data-testid": "runs-compare-hint" });
    root.append(
      el("section", { class: "col runs-col" },
        el("div", { class: "runs-head" }, heading("runs.h.table"), this.count,
          el("button", { class: "ghost", "data-testid": "runs-refresh", "data-help": "runsRefresh", onclick: () => this.load() },
            el("span", { "data-i18n": "runs.refresh" }, t("runs.refresh")))),
        el("p", { class: "hint small", "data-i18n": "runs.hint" }, t("runs.hint")),
        el("div", { class: "runs-scroll" }, this.table),
        heading("runs.h.sweeps"), this.sweepBox),
      el("section", { class: "col runs-compare", "data-testid": "runs-compare" },
        heading("runs.h.compare"), this.compareHint, this.legend,
        this.lossTitle, this.lossChart, this.metricTitle, this.metricChart));
  }

  // URL state: {runs: "id,id", sort: "-created"}
  state() { return { runs: this.picked.join(","), sort: this.sort }; }

  restore(extra) {
    if (extra.sort) this.sort = extra.sort;
    if (extra.runs) this.picked = extra.runs.split(",").filter(Boolean);
  }

  async open() {
    if (!this.loaded) await this.load();
    else this.render();
  }

  async load() {
    const res = await fetch("/api/dashboard/runs");
    const body = await res.json();
    if (!res.ok) { this.app.showError(t("error.runs"), body.error); return; }
    this.rows = body.runs;
    this.sweeps = body.sweeps;
    this.loaded = true;
    const known = new Set(this.rows.map((r) => r.id));
    this.picked = this.picked.filter((id) => known.has(id));
    await Promise.all(this.picked.map((id) => this.fetchCurves(id)));
    this.render();
  }

  async fetchCurves(id) {
    if (this.curves.has(id)) return;
    const res = await fetch(`/api/dashboard/runs/${encodeURIComponent(id)}/curves`);
    if (res.ok) this.curves.set(id, (await res.json()).epochs);
  }

  async pick(id, on) {
    this.picked = on ? [...this.picked.filter((x) => x !== id), id] : this.picked.filter((x) => x !== id);
    if (on) await this.fetchCurves(id);
    this.render();
    this.app.writeURL();
  }

  setSort(key) {
    this.sort = this.sort === `-${key}` ? key : `-${key}`;
    this.render();
    this.app.writeURL();
  }

  sorted() {
    const desc = this.sort.startsWith("-"), key = this.sort.replace(/^-/, "");
    const val = (r) => r[key];
    return [...this.rows].sort((a, b) => {
      const x = val(a), y = val(b);
      if (x === y) return 0;
      if (x === null || x === undefined) return 1;     // empty cells last either way
      if (y === null || y === undefined) return -1;
      const c = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
      return desc ? -c : c;
    });
  }

  cell(r, key) {
    if (key === "test_metric") return r.metric_name === "test_mse" && r.test_metric !== null ? `${num(r.test_metric)} (MSE)` : num(r.test_metric);
    if (key === "test_loss") return num(r.test_loss);
    if (key === "status") return el("span", { class: `status ${r.status}` }, t(`runs.status.${r.status}`));
    return r[key] === null || r[key] === undefined ? "–" : String(r[key]);
  }

  render() {
    const key = this.sort.replace(/^-/, ""), arrow = this.sort.startsWith("-") ? " ▼" : " ▲";
    const head = el("tr", {}, el("th", {}, ""), COLUMNS.map((c) => el("th", {
      class: c === key ? "sorted" : "", "data-testid": `runs-sort-${c}`, onclick: () => this.setSort(c),
    }, t(`runs.col.${c}`) + (c === key ? arrow : ""))), el("th", {}, ""));
    const color = (id) => this.picked.indexOf(id);
    const body = this.sorted().map((r) => {
      const i = color(r.id);
      const box = el("input", { type: "checkbox", "data-testid": `runs-pick-${r.id}`, onchange: (e) => this.pick(r.id, e.target.checked) });
      box.checked = i >= 0;
      const done = r.status === "done";
      return el("tr", { "data-testid": `runs-row-${r.id}`, "data-run": r.id, class: i >= 0 ? "picked" : "" },
        el("td", {}, box, i >= 0 ? el("i", { class: "swatch", style: `background:${css(CLASS_COLORS[i % CLASS_COLORS.length])}` }) : null),
        COLUMNS.map((c) => el("td", { class: `c-${c}`, title: c === "name" ? r.id : null }, this.cell(r, c))),
        el("td", { class: "c-actions" },
          done ? el("a", { href: `/api/dashboard/runs/${encodeURIComponent(r.id)}/report/${lang}/index.html`, target: "_blank",
            rel: "noopener", "data-testid": `runs-report-${r.id}`, "data-help": "runsReport" }, t("runs.report")) : null,
          done ? el("button", { class: "link", "data-testid": `runs-predict-${r.id}`, "data-help": "runsPredict",
            onclick: () => this.app.openPredict(r.id) }, t("runs.predict")) : null));
    });
    this.table.replaceChildren(el("thead", {}, head), el("tbody", {}, body));
    if (!this.rows.length) this.table.append(el("tbody", {}, el("tr", {}, el("td", { colspan: COLUMNS.length + 2, class: "hint" }, t("runs.none")))));
    this.count.textContent = t("runs.count", { n: this.rows.length });
    this.renderSweeps();
    this.renderCompare();
  }

  renderSweeps() {
    if (!this.sweeps.length) { this.sweepBox.replaceChildren(el("p", { class: "hint small" }, t("runs.sweeps.none"))); return; }
    const head = el("tr", {}, ["name", "metric", "trials", "best", "params", "run"].map((c) => el("th", {}, t(`runs.sweeps.${c}`))));
    const rows = this.sweeps.map((s) => el("tr", { "data-testid": `sweep-${s.name}` },
      el("td", {}, s.name), el("td", {}, `${s.metric} (${t(`runs.sweeps.${s.direction}`)})`), el("td", {}, String(s.trials)),
      el("td", { "data-testid": `sweep-best-${s.name}` }, s.best ? `#${s.best.number}: ${num(s.best.value)}` : "–"),
      el("td", { class: "c-params" }, s.best ? Object.entries(s.best.params).map(([k, v]) => `${k}=${v}`).join(", ") : "–"),
      el("td", {}, s.best?.run_id ? el("button", { class: "link", "data-testid": `sweep-pick-${s.name}`,
        onclick: () => this.pick(s.best.run_id, true) }, s.best.run_id) : "–")));
    this.sweepBox.replaceChildren(el("table", { class: "runs-table" }, el("thead", {}, head), el("tbody", {}, rows)));
  }

  renderCompare() {
    const runs = this.picked.filter((id) => this.curves.has(id));
    this.compareHint.textContent = t(runs.length >= 2 ? "runs.compare.hint" : "runs.compare.pick");
    this.legend.replaceChildren(...runs.map((id, i) => {
      const r = this.rows.find((x) => x.id === id);
      return el("span", { class: "item" }, el("i", { class: "swatch", style: `background:${css(CLASS_COLORS[i % CLASS_COLORS.length])}` }),
        `${r?.name ?? id} `, el("small", {}, id));
    }));
    // accuracy where every picked run has it, else mean squared error (regression runs)
    const metric = runs.length && runs.every((id) => this.curves.get(id).some((e) => "train_accuracy" in e)) ? "accuracy" : "mse";
    this.lossTitle.textContent = t("runs.chart.loss");
    this.metricTitle.textContent = t(`runs.chart.${metric}`);
    const series = (what) => runs.map((id, i) => ({ color: CLASS_COLORS[i % CLASS_COLORS.length], rows: this.curves.get(id), what }));
    this.drawChart(this.lossChart, series("loss"));
    this.drawChart(this.metricChart, series(metric));
  }

  // One line per run and split: train solid, validation dashed; x = epoch.
  drawChart(canvas, series) {
    fit(canvas);
    const ctx = canvas.getContext("2d"), r = window.devicePixelRatio || 1;
    const W = canvas.width, H = canvas.height, L = 44 * r, B = 20 * r, T = 8 * r, R = 10 * r;
    ctx.clearRect(0, 0, W, H);
    const pts = [];
    for (const s of series) for (const split of ["train", "val"]) {
      const line = s.rows.filter((e) => Number.isFinite(e[`${split}_${s.what}`])).map((e) => [e.epoch, e[`${split}_${s.what}`]]);
      if (line.length) pts.push({ color: s.color, dash: split === "val", line });
    }
    const xs = pts.flatMap((p) => p.line.map((q) => q[0])), ys = pts.flatMap((p) => p.line.map((q) => q[1]));
    const x0 = Math.min(1, ...xs), x1 = Math.max(x0 + 1, ...xs);
    let y0 = Math.min(...ys), y1 = Math.max(...ys);
    if (!ys.length) { y0 = 0; y1 = 1; }
    if (y1 - y0 < 1e-9) { y0 -= 0.5; y1 += 0.5; }
    const X = (v) => L + ((W - L - R) * (v - x0)) / (x1 - x0), Y = (v) => T + (H - T - B) * (1 - (v - y0) / (y1 - y0));
    ctx.font = `${10 * r}px system-ui, sans-serif`;
    ctx.fillStyle = "#6b7785";
    ctx.strokeStyle = "#e3e7ec";
    ctx.lineWidth = r;
    for (let i = 0; i <= 4; i++) {
      const v = y0 + ((y1 - y0) * i) / 4, y = Y(v);
      ctx.beginPath(); ctx.moveTo(L, y); ctx.lineTo(W - R, y); ctx.stroke();
      ctx.fillText(Number(v.toPrecision(3)).toString(), 4 * r, y + 3 * r);
    }
    ctx.fillText(String(x0), L, H - 5 * r);
    ctx.fillText(`${x1} ${t("epoch")}`, W - R - ctx.measureText(`${x1} ${t("epoch")}`).width, H - 5 * r);
    for (const p of pts) {
      ctx.strokeStyle = css(p.color);
      ctx.lineWidth = 1.8 * r;
      ctx.setLineDash(p.dash ? [5 * r, 4 * r] : []);
      ctx.beginPath();
      p.line.forEach(([e, v], i) => (i ? ctx.lineTo(X(e), Y(v)) : ctx.moveTo(X(e), Y(v))));
      ctx.stroke();
    }
    ctx.setLineDash([]);
    canvas.dataset.lines = String(pts.length);   // for tests: lines drawn
  }
}
