// The playground page: wires the controls to one or two training sessions (Session) and
// draws their frames. The page never decides: every change becomes a spec sent to the
// server, which validates it and answers with the spec it is training.
import * as i18n from "./i18n.js";
import * as url from "./url.js";
import * as schema from "./schema.js";
import { el, setPalette } from "./draw.js";
import { applyIcons, icon } from "./icons.js";
import { Session } from "./session.js";
import { Network } from "./network.js";
import { DataPanel, OutputPanel } from "./view2d.js";
import { ImagePanel, ImageView } from "./viewimage.js";
import { TrustView } from "./viewtrust.js";
import { RunsView } from "./viewruns.js";
import { PredictView } from "./viewpredict.js";
import { SeqPanel, SeqView } from "./viewseq.js";
import { Practice } from "./viewpractice.js";
import { GenPanel, GenView } from "./viewgen.js";
import { HyperBar, NetOptions } from "./hyper.js";
import { button, toggle } from "./widgets.js";
import { Lessons } from "./lessons.js";

const $ = (s) => document.querySelector(s);
const clone = (x) => structuredClone(x);

const app = {
  hello: null,
  sessions: [],
  active: 0,
  mode: null,
  drawOn: false,
  drawClass: 0,
  showTest: false,
  discrete: false,
  hover: null,
  boot: url.decode(location.hash),

  get session() { return this.sessions[this.active] || this.sessions[0]; },

  // --- what the page sends -------------------------------------------------------
  wantSpec(session) {
    if (this.lessons?.wants(session)) return null;   // it opens a lesson's part (lessons.js)
    const base = this.hello.presets["2d"];
    if (session === this.sessions[0]) return this.boot ? url.merge(base, this.boot.spec) : base;
    const a = this.sessions[0].spec || base;
    const b = this.boot?.b;   // ~b.<key>=<value>: where B differs from A
    return b ? url.merge(a, b) : a;
  },

  edit(fn) {
    const session = this.session;
    if (!session.spec) return;
    const next = clone(session.pending || session.spec);
    fn(next);
    this.edited = true;
    session.setSpec(next);
  },

  // data changes go to every session: compared networks see the same data and seed
  editData(fn) {
    for (const session of this.sessions) {
      if (!session.spec) continue;
      const next = clone(session.pending || session.spec);
      fn(next.data);
      this.edited = true;
      session.setSpec(next);
    }
  },

  regenerate() { this.editData((d) => { d.seed += 1; }); },

  setProblem(kind) {
    const reg = new Set(this.hello.options.regression);
    if ((kind === "regression") === reg.has(this.session.spec.data.name)) return;
    this.editData((d) => { d.name = kind === "regression" ? "reg-plane" : "circle"; delete d.points; delete d.path; delete d.target; });
  },

  toggleFeature(name) {
    this.edit((s) => {
      const on = new Set(s.data.features);
      if (on.has(name)) on.delete(name); else on.add(name);
      s.data.features = this.hello.options.features.filter((f) => on.has(f));
    });
  },

  addLayer(d) {
    this.edit((s) => {
      const h = s.model.hidden;
      if (d > 0) h.push(h.length ? h[h.length - 1] : schema.defaultOf("model.hidden")[0]); else h.pop();
      if (s.model.activations) {   // a new layer takes the activation of the one before it
        const acts = s.model.activations;
        while (acts.length < h.length) acts.push(acts.at(-1) ?? s.model.activation);
        s.model.activations = acts.slice(0, h.length);
      }
    });
  },

  addUnit(i, d) { this.edit((s) => { s.model.hidden[i] = Math.max(1, s.model.hidden[i] + d); }); },

  setLayerAct(i, act) {
    this.edit((s) => {
      const acts = s.model.activations || s.model.hidden.map(() => s.model.activation);
      acts[i] = act;
      s.model.activations = acts;
    });
  },

  setDraw(on, cls) {
    this.drawOn = on;
    this.drawClass = cls;
    this.dataPanel.draw.set(on);
    document.body.classList.toggle("drawing", on);
  },

  addPoint(session, x1, x2) {
    if (this.drawOn) this.addLabelled(session, x1, x2, this.drawClass);
  },

  // a labelled point (drawn, or an answer to the model's question) joins data.points
  addLabelled(session, x1, x2, cls) {
    if (!session.points) return;
    const d = (session.pending || session.spec).data;
    const pts = d.name === "points" ? clone(d.points)
      : [...session.points.train, ...session.points.val, ...session.points.test].map(([a, b, y]) => [a, b, Math.round(y)]);
    pts.push([Number(x1.toFixed(3)), Number(x2.toFixed(3)), cls]);
    this.editData((dd) => { dd.name = "points"; dd.points = pts; delete dd.path; delete dd.target; });
  },

  async upload(file) {
    const query = new URLSearchParams({ name: file.name, lang: i18n.lang });   // errors name the user's file, in the page's language
    const res = await fetch(`/api/upload?${query}`, { method: "POST", body: file, headers: { "Content-Type": "text/csv" } });
    const body = await res.json();
    if (!res.ok) { this.showError(i18n.t("error.upload"), body.error); return; }
    this.editData((d) => {
      delete d.points; delete d.path; delete d.target;
      Object.assign(d, body.data);
      if (body.data.name === "points") d.features = d.features?.length ? d.features : ["x1", "x2"];
    });
    this.showNote(i18n.t("uploaded", { rows: body.rows, name: file.name }));
  },

  pick(session, i) { session.setView({ image: i }); this.practice?.findNeighbors(session, i); },

  setMode(mode) {
    this.lessons?.leave();
    // the learner's 2-D set-up (and so the URL) comes back when they return from another mode
    if (this.mode === "2d" || this.mode === "table") this.spec2d = clone(this.sessions[0].spec);
    const back = mode === "2d" ? this.spec2d : null;
    this.setCompare(false);
    this.sessions[0].setSpec(clone(back || this.hello.presets[mode] || this.hello.presets["2d"]));   // series, adding, text: the Sequences mode
  },

  // a weight (or, source null, a bias) set by hand: a click on the diagram; the library sets it
  setWeight(layer, to, source, value) {
    this.session.send({ type: "weight", layer, to, source, value });
  },

  setCompare(on) {
    if (on === this.sessions.length > 1) return;
    if (on) {
      const session = new Session(this, "b", el("canvas", { class: "chart", "data-testid": "chart-b" }));
      this.sessions.push(session);
      this.lessons?.created(session);
      this.panels.push(new OutputPanel($("#panels"), this, session, "b"));
    } else {
      const session = this.sessions.pop();
      session.conn.close();
      this.panels.pop().root.remove();
      this.active = 0;
    }
    document.body.classList.toggle("comparing", on);
    $('[data-testid="epoch-b"]').hidden = !on;
    this.renderEditTabs();
    this.writeURL();
  },

  // --- what the server says -------------------------------------------------------
  onHello(session, m) {
    if (this.hello) return;
    this.hello = m;
    setPalette(m.palette);   // the library's colors, before anything is drawn
    schema.load(m.schema);
    const extra = this.boot?.extra || {};   // the Sequences mode's view from the URL (before the session sends its view)
    if (extra.seq) session.view.sequence = Math.max(0, Math.round(Number(extra.seq)) || 0);
    if (extra.temp && Number(extra.temp) > 0) session.view.temperature = Number(extra.temp);
    if (extra.pick) { const [a, b] = extra.pick.split(",").map(Number); Object.assign(session.view, { pick_a: a || 0, pick_b: b || 0 }); }
    this.buildStatic(m.options);
    this.lessons = new Lessons(this, m.lessons);
    if (this.boot?.extra.lesson) this.lessons.open(this.boot.extra.lesson);   // ~lesson=id: a lesson's link
    if (this.boot?.b) this.setCompare(true);
    const view = this.boot?.extra.view;
    if (view === "runs" || view === "predict") {
      this.pageView(view).restore(this.boot.extra);
      this.setPage(view);
    }
  },

  // --- the Runs and Predict views: pages over the training views (the session goes on) ----
  pageView(page) { return page === "runs" ? this.runsView : this.predictView; },

  setPage(page) {
    this.page = page;
    if (page) this.renderPage();
    else this.render();
    this.writeURL();
  },

  renderPage() {
    const page = this.page;
    for (const v of ["2d", "image", "trust", "seq", "gen"]) $(`#view-${v}`).hidden = true;
    $("#view-runs").hidden = page !== "runs";
    $("#view-predict").hidden = page !== "predict";
    document.body.dataset.page = page;
    document.querySelectorAll(".tabs button").forEach((b) => b.classList.toggle("selected", b.dataset.testid === `${page}-tab`));
    this.pageView(page).open();
  },

  // back from a page to the training views: true when the session's mode was asked for
  leavePage(mode) {
    if (!this.page) return false;
    this.page = null;
    delete document.body.dataset.page;
    $("#view-runs").hidden = $("#view-predict").hidden = true;
    if (this.mode !== mode) return false;
    this.trustOn = false;
    this.render();
    this.writeURL();
    return true;
  },

  openPredict(runId) {
    this.predictView.want = runId;
    this.setPage("predict");
  },

  onReady(session) {
    this.practice?.onReady(session);
    if (session === this.sessions[0] || session === this.session) this.render();
    else this.sync();
    this.writeURL();
    if (this.edited) this.hideError();   // a change the user made went through
    this.edited = false;
  },

  onUpdated() { this.sync(); this.writeURL(); },

  onState() {
    const running = this.sessions.some((l) => l.running);
    const play = $('[data-testid="play"]');
    play.dataset.icon = running ? "pause" : "play";
    play.classList.toggle("running", running);
    play.setAttribute("aria-label", running ? "pause" : "play");
    applyIcons(play.parentElement);
  },

  setTrust(on) {
    this.trustOn = on;
    this.render();
  },

  onTrust(session, f) { if (session === this.session) this.trustView.onAnswer(f); },

  onError(session, m) {
    this.trustView?.onError();
    this.imageView?.onError();
    this.showError(i18n.t(`error.${m.code}`), (i18n.lang === "ko" && m.ko) || m.message);
    if (!session.spec) session.setSpec(clone(this.hello.presets["2d"]));   // a bad link: start from defaults
    else this.sync();
  },

  onSaved(session, m) {
    this.predictView?.onSaved(m);
    const box = $('[data-testid="saved"]');
    const link = (f, key, testid) => el("a", { href: m.files[f], download: "", "data-testid": testid, class: "dl" }, i18n.t(key));
    box.replaceChildren(
      el("span", {}, i18n.t("saved", { id: "" })), el("code", { "data-testid": "saved-run" }, m.run_id),
      link("spec.toml", "download.spec", "download-spec"), link("model.safetensors", "download.weights", "download-weights"),
      link("snippet.py", "download.snippet", "download-snippet"), link("model.onnx", "download.onnx", "download-onnx"),
      el("button", { class: "mini close", onclick: () => { box.hidden = true; } }));
    box.querySelector(".close").innerHTML = icon("close");
    box.querySelectorAll(".dl").forEach((a) => a.insertAdjacentHTML("afterbegin", icon("download")));
    box.hidden = false;
  },

  // --- drawing -------------------------------------------------------------------------
  buildStatic(options) {
    this.hyper = new HyperBar($("#hyper"), this, options);
    this.dataPanel = new DataPanel($("#data-panel"), this, options);
    this.netOptions = new NetOptions($("#net-options"), this, options);
    this.network = new Network($("#network"), {
      toggleFeature: (n) => this.toggleFeature(n), addUnit: (i, d) => this.addUnit(i, d),
      setLayerAct: (i, a) => this.setLayerAct(i, a),
      setWeight: (layer, to, source, value) => this.setWeight(layer, to, source, value),
      hover: (h) => { this.hover = h; this.draw(this.session); },
    });
    const outputs = $("#outputs");
    this.showTestBox = toggle("show-test", "showTest", (v) => { this.showTest = v; this.drawAll(); }, "showTest");
    this.discreteBox = toggle("discretize", "discretize", (v) => { this.discrete = v; this.drawAll(); }, "discretize");
    outputs.append(el("h2", { "data-i18n": "h.output" }, i18n.t("h.output")),
      el("div", { class: "out-toggles" }, this.showTestBox, this.discreteBox), el("div", { class: "panels", id: "panels" }));
    this.panels = [new OutputPanel($("#panels"), this, this.sessions[0], "")];
    this.imagePanel = new ImagePanel($("#image-panel"), this, options);
    this.imageView = new ImageView($("#image-center"), $("#image-outputs"), this);
    this.trustView = new TrustView($("#view-trust"), this);
    this.runsView = new RunsView($("#view-runs"), this);
    this.predictView = new PredictView($("#view-predict"), this);
    this.seqPanel = new SeqPanel($("#seq-panel"), this, options, this.hello.limits);
    this.seqView = new SeqView($("#seq-center"), $("#seq-outputs"), this);
    this.practice = new Practice(this, options, this.hello.limits);   // augmentation, neighbours, active learning
    $("#data-panel").append(this.practice.active);
    this.imageView.gallery.after(this.practice.neighbors, this.practice.augment);
    this.genPanel = new GenPanel($("#gen-panel"), this, options);
    this.genView = new GenView($("#gen-center"), $("#gen-outputs"), this);
    if (this.boot) this.genView.restore(this.boot.extra);
    this.editTabs = el("div", { class: "edit-tabs" });
    $("#net-head").append(
      el("div", { class: "layers-head" },
        el("button", { class: "mini", "data-testid": "add-layer", "data-help": "addLayer", onclick: () => this.addLayer(+1) }),
        el("button", { class: "mini", "data-testid": "remove-layer", "data-help": "removeLayer", onclick: () => this.addLayer(-1) }),
        el("span", { "data-testid": "layer-count", class: "layer-count" })),
      this.editTabs);
    const [plus, minus] = $("#net-head").querySelectorAll(".mini");
    plus.innerHTML = icon("plus");
    minus.innerHTML = icon("minus");
    applyIcons(document);
    i18n.apply(document);
    document.body.classList.remove("loading");
  },

  renderEditTabs() {
    if (!this.editTabs) return;
    const tabs = this.sessions.length > 1 ? this.sessions.map((session, i) => el("button", {
      class: i === this.active ? "selected" : "", "data-testid": `edit-${session.name}`, "data-help": "editTab",
      onclick: () => { this.active = i; this.render(); this.renderEditTabs(); } }, i18n.t("editing", { name: session.name.toUpperCase() }))) : [];
    this.editTabs.replaceChildren(...tabs);
    this.panels?.forEach((p, i) => p.root.classList.toggle("active", this.sessions.length > 1 && i === this.active));
  },

  render() {
    const session = this.session;
    if (!session?.info) { if (this.page) this.renderPage(); return; }
    const mode = session.info.mode;
    this.mode = mode;
    if (this.page) { this.renderPage(); return; }
    const trust = mode === "image" && this.trustOn;
    $("#view-2d").hidden = mode === "image" || mode === "sequence";
    $("#view-seq").hidden = mode !== "sequence";
    $("#view-image").hidden = mode !== "image" || trust;
    $("#view-trust").hidden = !trust;
    $('[data-testid="trust-tab"]').hidden = mode !== "image";
    $("#view-gen").hidden = mode !== "generative";
    if (mode === "generative") $("#view-2d").hidden = true;
    document.body.dataset.mode = mode;
    const tab = trust ? "trust-tab" : mode === "image" ? "mode-image" : mode === "sequence" ? "mode-seq" :
      mode === "generative" ? "mode-gen" : "mode-2d";
    document.querySelectorAll(".tabs button").forEach((b) => b.classList.toggle("selected", b.dataset.testid === tab));
    $('[data-testid="compare"]').hidden = mode === "image" || mode === "sequence" || mode === "generative";
    // the loss readouts of the visible view own the test ids (both views have them)
    document.querySelectorAll("[data-tid]").forEach((e) => {
      if (e.closest("main.view").hidden) e.removeAttribute("data-testid");
      else e.dataset.testid = e.dataset.tid;
    });
    if (trust) this.trustView.open(session);
    if (mode === "generative") this.genView.build(session);
    else if (mode === "sequence") this.seqView.build(session);
    else if (mode === "image") this.imageView.build(session);
    else this.network.build(session, this.hello.options);
    this.sync();
    if (session.frame) this.draw(session);
  },

  sync() {
    const session = this.session;
    if (!session?.spec) return;
    const spec = session.spec, info = session.info;
    const reg = new Set(this.hello.options.regression);
    this.hyper.sync(spec, info, reg);
    if (info?.mode === "image") { this.imagePanel.sync(spec, info); this.practice.syncImage(spec); }
    else if (info?.mode === "sequence") this.seqPanel.sync(spec, info);
    else if (info?.mode === "generative") this.genPanel.sync(spec, info);
    else {
      this.dataPanel.sync(spec, info);
      this.netOptions.sync(spec);
      const n = spec.model.hidden.length;
      $('[data-testid="layer-count"]').textContent = i18n.t("hiddenLayers", { n });
    }
  },

  draw(session) {
    if (!session.frame) return;
    if (session === this.sessions[1]) {   // compared: B's epoch under A's
      $('[data-testid="epoch-b"]').textContent = `B ${session.frame.header.epoch.toLocaleString("en-US")}`;
    }
    if (session === this.sessions[0]) {
      const h = session.frame.header;
      $('[data-testid="epoch"]').textContent = h.epoch.toLocaleString("en-US");
      const bar = $('[data-testid="epoch-progress"]');   // between batches of a long epoch
      bar.hidden = !h.step;
      if (h.step) {
        bar.firstChild.style.width = `${(100 * h.step) / h.steps}%`;
        bar.title = i18n.t("epochProgress", { step: h.step, steps: h.steps,
          loss: Number.isFinite(h.batch_loss) ? h.batch_loss.toFixed(4) : "–" });
      }
      const engine = $('[data-testid="engine"]'), kind = session.frame.header.engine;   // train/compiled.py
      engine.hidden = !kind || kind === "eager";
      if (!engine.hidden && engine.dataset.kind !== kind) {
        engine.dataset.kind = kind;
        engine.dataset.i18n = `engine.${kind}`;
        engine.textContent = i18n.t(engine.dataset.i18n);
      }
    }
    if (this.page) return;   // the training views are hidden: drawn again when the page is left
    if (session.info?.mode === "sequence") { if (session === this.session) this.seqView.draw(); return; }
    if (session.info?.mode === "generative") { if (session === this.session) this.genView.draw(); return; }
    if (session.info?.mode === "image") {
      if (session === this.session && this.trustOn && !session.frame.header.running) this.trustView.refresh();
      if (session === this.session) this.imageView.draw();
      return;
    }
    // the diagram (dozens of small maps, hundreds of links) redraws at most ~15 times a second
    // while training runs: it costs the browser most, and weights move slowly
    const now = performance.now();
    if (session === this.session && session.info && this.network.session === session &&
        (!session.frame.header.running || this.hover || now - (this.netDrawn || 0) > 66)) {
      this.netDrawn = now;
      this.network.update(session.frame);
    }
    const panel = this.panels[this.sessions.indexOf(session)];
    panel?.draw({ showTest: this.showTest, discrete: this.discrete, hover: session === this.session ? this.hover : null });
  },

  drawAll() { this.sessions.forEach((l) => this.draw(l)); },

  // --- URL, messages, language -------------------------------------------------------------
  writeURL() {
    const a = this.sessions[0]?.spec;
    if (!a || !this.hello) return;
    const extra = {};
    if (this.lessons?.current) extra["~lesson"] = this.lessons.current.id;
    if (this.page) {   // the view and its own state: ~view=runs&~runs=id,id&~sort=-created
      extra["~view"] = this.page;
      for (const [k, v] of Object.entries(this.pageView(this.page).state())) if (v) extra[`~${k}`] = v;
    }
    if (!this.page && this.mode === "sequence") {   // ~seq=test sequence&~temp=temperature
      for (const [k, v] of Object.entries(this.seqView.state())) if (v) extra[`~${k}`] = v;
    }
    if (!this.page && this.mode === "2d") {   // ~ask=the active-learning strategy
      for (const [k, v] of Object.entries(this.practice.state())) if (v) extra[`~${k}`] = v;
    }
    if (!this.page && this.mode === "generative") {   // ~pick=test image a,b&~morph=step
      for (const [k, v] of Object.entries(this.genView.urlState())) if (v) extra[`~${k}`] = v;
    }
    const hash = url.encode(a, this.hello.presets["2d"], extra, this.sessions[1]?.spec);
    history.replaceState(null, "", hash ? `#${hash}` : location.pathname);
  },

  showError(title, message) {
    const b = $('[data-testid="error"]');
    b.replaceChildren(el("b", {}, title), " ", el("span", {}, message || ""),
      el("button", { class: "mini close", onclick: () => this.hideError() }));
    b.querySelector(".close").innerHTML = icon("close");
    b.classList.remove("note");
    b.hidden = false;
  },

  showNote(text) {
    const b = $('[data-testid="error"]');
    b.replaceChildren(el("span", {}, text));
    b.classList.add("note");
    b.hidden = false;
    setTimeout(() => { if (b.classList.contains("note")) b.hidden = true; }, 4000);
  },

  hideError() { $('[data-testid="error"]').hidden = true; },

  async switchLang() {
    await i18n.load(i18n.lang === "en" ? "ko" : "en");
    $('[data-testid="lang"]').textContent = i18n.lang === "en" ? "한국어" : "English";
    this.render();
    this.renderEditTabs();
    this.lessons?.render();
    this.drawAll();   // every panel's words, B's too (render draws the edited session only)
  },
};

async function main() {
  await i18n.load(i18n.lang);
  $('[data-testid="lang"]').textContent = i18n.lang === "en" ? "한국어" : "English";
  const session = new Session(app, "a", el("canvas", { class: "chart", "data-testid": "chart" }));
  app.sessions.push(session);
  const each = (fn) => () => app.sessions.forEach(fn);
  $('[data-testid="play"]').addEventListener("click", () => {
    const running = app.sessions.some((l) => l.running);
    app.sessions.forEach((l) => l.send({ type: running ? "pause" : "play" }));
  });
  $('[data-testid="step"]').addEventListener("click", each((l) => l.send({ type: "step" })));
  $('[data-testid="reset"]').addEventListener("click", each((l) => l.send({ type: "reset" })));
  $('[data-testid="save"]').addEventListener("click", () => app.session.send({ type: "save" }));
  $('[data-testid="lang"]').addEventListener("click", () => app.switchLang());
  $('[data-testid="mode-2d"]').addEventListener("click", () => app.leavePage("2d") || app.setMode("2d"));
  $('[data-testid="mode-image"]').addEventListener("click", () => app.leavePage("image") ||
    (app.mode === "image" ? app.setTrust(false) : app.setMode("image")));
  $('[data-testid="mode-seq"]').addEventListener("click", () => app.leavePage("sequence") ||
    (app.mode === "sequence" || app.setMode("series")));
  $('[data-testid="mode-gen"]').addEventListener("click", () => app.leavePage("generative") ||
    (app.mode === "generative" || app.setMode(app.hello.options.generative_kinds.at(-1))));
  $('[data-testid="trust-tab"]').addEventListener("click", () => { app.leavePage("image"); app.setTrust(true); });
  $('[data-testid="runs-tab"]').addEventListener("click", () => app.setPage("runs"));
  $('[data-testid="predict-tab"]').addEventListener("click", () => app.setPage("predict"));
  $('[data-testid="compare"]').addEventListener("click", () => app.setCompare(app.sessions.length < 2));
  document.addEventListener("mouseover", (e) => {
    const h = e.target.closest?.("[data-help]");
    const key = h ? `help.${h.dataset.help}` : "help.default";
    const text = i18n.has(key) ? i18n.t(key) : i18n.t("help.default");
    const foot = $("#help");
    if (foot.textContent !== text) foot.textContent = text;
  });
  const top = $(".topbar");   // the notices stick right under the header, however tall it wraps
  new ResizeObserver(() => document.documentElement.style.setProperty("--header-h", `${top.offsetHeight}px`)).observe(top);
  let width = 0;   // rebuild the diagram when its column changes width (window, compare)
  new ResizeObserver(([e]) => {
    if (Math.abs(e.contentRect.width - width) > 2) { width = e.contentRect.width; app.render(); }
  }).observe($(".net-col"));
  window.nnplay = app;   // for tests and benchmarks: sessions[i].frames, .frame, .spec
}

main();
