// The top bar's training settings (shared by both modes) and the options under the
// network diagram. Each change is sent as a spec; the server decides whether it applies
// live (learning rate, optimizer, regularization...) or rebuilds the network.
import { el } from "./draw.js";
import { t } from "./i18n.js";
import { select, toggle, field } from "./widgets.js";
import * as schema from "./schema.js";

// a menu of the spec field's values (its "ui" choices in the schema)
const menu = (path) => schema.choices(path).map((v) => ({ value: v }));

function labelled(key, control, help) {
  return el("div", { class: "hyper-item", "data-help": help }, el("span", { class: "label", "data-i18n": key }, t(key)), control);
}

export class HyperBar {
  // app: {edit(fn), setProblem(kind)}
  constructor(root, app, options) {
    this.lr = select("lr", menu("train.lr"), (v) => app.edit((s) => { s.train.lr = v; }), "lr");
    this.optimizer = select("optimizer", options.optimizers.map((o) => ({ value: o, key: `opt.${o}` })),
      (v) => app.edit((s) => { s.train.optimizer = v; }), "optimizer");
    this.activation = select("activation", schema.choices("model.activation").map((a) => ({ value: a, key: `act.${a}` })),
      (v) => app.edit((s) => { s.model.activation = v; delete s.model.activations; }), "activation");
    // every layer with its own activation (set under each layer): the box says so
    this.mixed = el("option", { value: "", disabled: true, hidden: true, "data-i18n": "activation.mixed" }, t("activation.mixed"));
    this.activation.append(this.mixed);
    this.reg = select("regularization", options.regularizations.map((r) => ({ value: r, key: `reg.${r}` })),
      (v) => app.edit((s) => { s.model.regularization = v; if (v !== schema.defaultOf("model.regularization") && !s.model.reg_rate) s.model.reg_rate = schema.start("model.reg_rate"); }), "regularization");
    this.rate = select("reg-rate", menu("model.reg_rate"), (v) => app.edit((s) => { s.model.reg_rate = v; }), "regRate");
    this.problem = select("problem", [{ value: "classification", key: "problem.classification" }, { value: "regression", key: "problem.regression" }],
      (v) => app.setProblem(v), "problem");
    this.problemItem = labelled("problem", this.problem, "problem");
    root.replaceChildren(labelled("lr", this.lr, "lr"), labelled("activation", this.activation, "activation"),
      labelled("optimizer", this.optimizer, "optimizer"), labelled("regularization", this.reg, "regularization"),
      labelled("regRate", this.rate, "regRate"), this.problemItem);
  }

  sync(spec, info, regression) {
    this.lr.set(spec.train.lr);
    this.optimizer.set(spec.train.optimizer);
    const used = new Set(spec.model.activations?.length ? spec.model.activations : [spec.model.activation]);
    const mixed = used.size > 1;
    this.mixed.hidden = !mixed;
    if (mixed) this.activation.value = ""; else this.activation.set([...used][0]);
    this.activation.dataset.help = mixed ? "activationMixed" : "activation";
    this.reg.set(spec.model.regularization);
    this.rate.set(spec.model.reg_rate);
    this.problem.set(regression.has(spec.data.name) || info?.task === "regression" ? "regression" : "classification");
    this.problemItem.hidden = info?.mode !== "2d";
  }
}

export class NetOptions {
  constructor(root, app, options) {
    this.init = select("init", options.inits.map((i) => ({ value: i, key: `init.${i}` })), (v) => app.edit((s) => { s.model.init = v; }), "init");
    this.dropout = select("dropout", menu("model.dropout"), (v) => app.edit((s) => { s.model.dropout = v; }), "dropout");
    this.smooth = select("label-smoothing", menu("model.label_smoothing"), (v) => app.edit((s) => { s.model.label_smoothing = v; }), "labelSmoothing");
    this.schedule = select("schedule", options.schedules.map((v) => ({ value: v, key: `schedule.${v}` })), (v) => app.edit((s) => { s.train.schedule = v; }), "schedule");
    this.bn = toggle("batchnorm", "batchnorm", (v) => app.edit((s) => { s.model.batchnorm = v; }), "batchnorm");
    this.ln = toggle("layernorm", "layernorm", (v) => app.edit((s) => { s.model.layernorm = v; }), "layernorm");
    this.seed = el("input", { type: "number", class: "seed", "data-testid": "seed", min: 0, step: 1 });
    this.seed.addEventListener("change", () => app.edit((s) => { s.train.seed = Number(this.seed.value); }));
    root.replaceChildren(field("init", this.init, "init"), field("dropout", this.dropout, "dropout"),
      field("labelSmoothing", this.smooth, "labelSmoothing"), field("schedule", this.schedule, "schedule"),
      field("seed", this.seed, "seed"), this.bn, this.ln);
  }

  sync(spec) {
    this.init.set(spec.model.init);
    this.dropout.set(spec.model.dropout);
    this.smooth.set(spec.model.label_smoothing);
    this.schedule.set(spec.train.schedule);
    this.bn.set(spec.model.batchnorm);
    this.ln.set(spec.model.layernorm);
    this.seed.value = spec.train.seed;
  }
}
