// The course's lessons inside the page: a "Lessons" menu in the header (the hello's `lessons`,
// grouped like the course) and the open lesson's card. One click sends each session a
// `lesson` message (a two-part 2-D lesson opens in compare mode, A and B); the server builds
// the part's spec, and when its epochs are trained answers `measured`, the claim's figure
// the library measured, shown here beside the bound. Every text comes from the lesson files.
import * as i18n from "./i18n.js";
import { el } from "./draw.js";
import { icon } from "./icons.js";

// a figure as a learner reads it: 3 significant digits, powers of ten for the very small
export function fmt(v) {
  if (v === null || v === undefined) return "-";
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(1);
  return String(Number(v.toPrecision(3)));
}

export class Lessons {
  constructor(app, course) {
    this.app = app;
    this.course = course || [];
    this.byId = Object.fromEntries(this.course.flatMap((g) => g.lessons.map((l) => [l.id, l])));
    this.current = null;
    this.results = {};     // part -> the server's `measured`
    this.epochs = null;    // a quick look: fewer epochs than the lessons' own (tests, demos)
    this.button = document.querySelector('[data-testid="lessons"]');
    this.menu = el("div", { class: "lessons-menu", "data-testid": "lessons-menu", hidden: "" });
    this.card = document.querySelector('[data-testid="lesson-panel"]');
    this.button.hidden = !this.course.length;
    this.button.after(this.menu);
    this.button.addEventListener("click", (e) => { e.stopPropagation(); this.toggleMenu(); });
    document.addEventListener("click", (e) => { if (!this.menu.contains(e.target)) this.menu.hidden = true; });
    this.render();
  }

  toggleMenu(show = this.menu.hidden) { this.menu.hidden = !show; }

  // the session expecting a lesson part builds nothing of its own (main.js wantSpec)
  wants(session) { return session.lessonPart !== undefined && session.lessonPart !== null; }

  open(id) {
    const lesson = this.byId[id];
    const app = this.app;
    if (!lesson) return;   // a link to a lesson this server does not have
    this.menu.hidden = true;
    this.current = lesson;
    this.results = {};
    app.trustOn = false;
    if (app.page) app.leavePage(null);
    const compare = lesson.compare && lesson.parts.length > 1;
    const parts = compare ? [0, 1] : [0];
    if (!compare) app.setCompare(false);
    this.load(app.sessions[0], parts[0]);
    if (compare) {
      if (app.sessions.length > 1) this.load(app.sessions[1], parts[1]);
      else {
        this.pendingB = parts[1];   // the new session asks for its part as it connects
        app.setCompare(true);
      }
    }
    this.render();
  }

  // called by main.js right after it creates compare's session B
  created(session) {
    if (this.pendingB === undefined) return;
    this.load(session, this.pendingB);
    delete this.pendingB;
  }

  load(session, part) {
    session.lessonPart = part;
    delete this.results[part];
    const msg = { type: "lesson", lesson: this.current.id, part };
    if (this.epochs) msg.epochs = this.epochs;
    session.send(msg);
  }

  leave() {
    if (!this.current) return;
    this.current = null;
    for (const s of this.app.sessions) { s.lessonPart = null; s.send({ type: "lesson", lesson: null }); }
    this.render();
    this.app.writeURL();
  }

  onMeasured(session, m) {
    if (!this.current || m.lesson !== this.current.id) return;
    this.results[m.part] = m;
    this.render();
  }

  // --- drawing ---------------------------------------------------------------------------
  render() {
    const lang = i18n.lang;
    this.button.querySelector("span").textContent = i18n.t("lessons");
    this.menu.replaceChildren(...this.course.map((g) => el("div", { class: "lessons-group" },
      el("h3", {}, i18n.t(`lessons.group.${g.group}`)),
      ...g.lessons.map((l) => el("button", { class: "lesson-item", "data-testid": `lesson-${l.id}`,
        onclick: () => this.open(l.id) }, l.title[lang])))));
    const l = this.current;
    this.card.hidden = !l;
    if (!l) { this.card.replaceChildren(); return; }
    const shown = new Map(this.app.sessions.map((s) => [s.lessonPart, s.name.toUpperCase()]));
    const close = el("button", { class: "mini close", "data-testid": "lesson-close", title: i18n.t("lessons.close"),
      onclick: () => this.leave() });
    close.innerHTML = icon("close");
    this.card.replaceChildren(
      el("div", { class: "lesson-head" }, el("b", { "data-testid": "lesson-title" }, l.title[lang]), close),
      el("p", { class: "lesson-text", "data-testid": "lesson-text" }, l.text[lang]),
      el("div", { class: "lesson-claim" }, el("span", { class: "label" }, i18n.t("lessons.claim")),
        el("span", { "data-testid": "lesson-claim" }, l.claim[lang])),
      el("div", { class: "lesson-parts" }, ...l.parts.map((p, i) => this.partRow(l, p, i, shown.get(i)))),
      ...(l.cli ? [el("div", { class: "lesson-cli" }, el("span", {}, i18n.t("lessons.more")), el("code", {}, l.cli))] : []));
  }

  partRow(l, p, i, where) {
    const lang = i18n.lang;
    const bound = [p.at_least !== undefined ? i18n.t("lessons.atLeast", { bound: fmt(p.at_least) }) : null,
      p.at_most !== undefined ? i18n.t("lessons.atMost", { bound: fmt(p.at_most) }) : null].filter(Boolean).join(", ");
    const m = this.results[i];
    let result;
    if (m) {
      result = el("span", { class: `lesson-result ${m.holds ? "holds" : "fails"}`, "data-testid": `lesson-measured-${i}`,
        "data-value": String(m.value) },
        i18n.t("lessons.measured", { value: fmt(m.value) }), " ",
        el("b", {}, i18n.t(m.holds ? "lessons.holds" : "lessons.fails")),
        ...(m.epoch < m.epochs ? [" ", el("small", {}, i18n.t("lessons.early", { epoch: m.epoch, epochs: m.epochs }))] : []));
    } else if (where) {
      result = el("span", { class: "lesson-result", "data-testid": `lesson-waiting-${i}` },
        i18n.t("lessons.waiting", { epochs: this.epochs && this.epochs < l.epochs[i] ? this.epochs : l.epochs[i] }));
    } else {
      const target = this.app.sessions[this.app.sessions.length - 1];   // B when comparing, else the one session
      result = el("button", { class: "ghost", "data-testid": `lesson-open-${i}`,
        onclick: () => { this.load(target, i); this.render(); } }, i18n.t("lessons.part"));
    }
    return el("div", { class: "lesson-part", "data-testid": `lesson-part-${i}` },
      el("span", { class: "tag" }, where || ""), el("b", {}, p.label[lang]), el("span", { class: "bound" }, bound), result);
  }
}
