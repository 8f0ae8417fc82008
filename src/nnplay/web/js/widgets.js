// Small form widgets. Each calls back with the user's choice; the server validates it.
import { el } from "./draw.js";
import { t } from "./i18n.js";

// A labelled row: <label>text</label> control
export function field(labelKey, control, help) {
  return el("label", { class: "field", "data-help": help || null },
    el("span", { class: "label", "data-i18n": labelKey }, t(labelKey)), control);
}

// options: [{value, label?, key?}] (key: i18n key for the label). Option values are the
// text of the value; the callback gets the value itself (a number stays a number).
export function select(testid, options, onChange, help) {
  const s = el("select", { "data-testid": testid, "data-help": help || testid });
  const values = new Map();
  const add = (o) => {
    values.set(String(o.value), o.value);
    s.append(el("option", { value: String(o.value), "data-i18n": o.key || null }, o.key ? t(o.key) : String(o.label ?? o.value)));
  };
  s.fill = (opts) => { s.replaceChildren(); values.clear(); opts.forEach(add); };
  s.fill(options);
  s.addEventListener("change", () => onChange(values.get(s.value)));
  s.set = (v) => {   // show v, adding it as an option if the list lacks it (a value from the URL)
    if (!values.has(String(v))) add({ value: v });
    s.value = String(v);
  };
  return s;
}

// A range slider that commits on release; the readout follows while dragging.
export function slider(testid, { min, max, step }, format, onCommit, help) {
  const input = el("input", { type: "range", min, max, step, "data-testid": testid });
  const out = el("output", { class: "value", "data-testid": `${testid}-value` });
  input.addEventListener("input", () => { out.textContent = format(Number(input.value)); });
  input.addEventListener("change", () => onCommit(Number(input.value)));
  const wrap = el("div", { class: "slider", "data-help": help || testid }, input, out);
  wrap.set = (v) => { input.value = v; out.textContent = format(Number(v)); };
  wrap.input = input;
  return wrap;
}

export function toggle(testid, labelKey, onChange, help) {
  const box = el("input", { type: "checkbox", "data-testid": testid });
  box.addEventListener("change", () => onChange(box.checked));
  const wrap = el("label", { class: "toggle", "data-help": help || testid }, box,
    el("span", { "data-i18n": labelKey }, t(labelKey)));
  wrap.set = (v) => { box.checked = !!v; };
  wrap.box = box;
  return wrap;
}

export function button(testid, labelKey, onClick, { icon = null, cls = "ghost", help = null } = {}) {
  const b = el("button", { class: cls, "data-testid": testid, "data-help": help || testid, "data-icon": icon, onclick: onClick },
    labelKey ? el("span", { "data-i18n": labelKey }, t(labelKey)) : null);
  return b;
}

export function heading(key) {
  return el("h2", { "data-i18n": key }, t(key));
}
