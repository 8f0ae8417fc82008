// The network diagram: input features, hidden layers of units (each a small heat map of
// its output over the plane), the output, and every weight drawn as a link whose width
// shows its size and color its sign, and each unit's bias as a small square at its corner (as in
// the TF Playground). Hover a unit or a link to read its values; click a link or a bias to set it.
import { el, heatmap, slice, diverging, css, CLASS_COLORS } from "./draw.js";
import { t } from "./i18n.js";
import { icon } from "./icons.js";
import * as schema from "./schema.js";

const HEAD = 64;        // room for the per-layer controls above the nodes

// The hidden layers as the library describes them (probes.blocks): {name, units, activation, act}.
export const hiddenLayers = (info) => info.blocks;

export class Network {
  // hooks: {toggleFeature(name), addLayer(d), addUnit(i, d), setLayerAct(i, act), hover(target|null),
  //         setWeight(layer, to, source|null, value)}
  constructor(root, hooks) {
    this.root = root;
    this.hooks = hooks;
    this.tip = el("div", { class: "tip", hidden: true });
    document.body.append(this.tip);
    // the box a click on a link (or a bias) opens: Enter sets the value, Esc or a click away drops it
    this.editor = el("input", { class: "weight-edit", "data-testid": "weight-edit", "data-help": "weightEdit",
      type: "text", inputmode: "decimal", hidden: true });
    this.editor.addEventListener("keydown", (e) => {
      if (e.key === "Enter") this.commitEdit();
      else if (e.key === "Escape") this.editor.hidden = true;
    });
    this.editor.addEventListener("blur", () => { this.editor.hidden = true; });
  }

  build(session, options) {
    const { info, spec } = session;
    this.session = session;
    const root = this.root;
    root.replaceChildren();
    const is2d = info.mode === "2d";
    const inputs = is2d ? options.features : info.feature_names;
    this.inputs = inputs;
    const active = new Set(info.feature_names);
    const layers = hiddenLayers(info);
    const cols = [inputs.length, ...layers.map((l) => l.units), info.task === "multiclass" ? info.num_classes : 1];
    const width = Math.max(root.clientWidth, 320);
    const most = Math.max(...cols);
    // many layers share the width: narrower columns, smaller units, compact controls
    const step = (width - 130) / (cols.length - 1);          // px between two columns
    const w = Math.min(108, step - 6);                        // a layer's controls
    const narrow = w < 64, tight = w < 54;                    // count as a number; +/- stacked
    const head = tight ? HEAD + 24 : HEAD;
    const size = Math.max(12, Math.min(Math.max(18, Math.min(38, Math.floor((430 - 6 * most) / most))),   // fits 1400x900 with its options
      Math.floor(step * 0.6)));
    const gap = Math.max(4, Math.min(10, Math.floor(size / 4)));
    const height = head + most * (size + gap) + 10;
    root.style.height = `${height}px`;
    root.classList.toggle("tight", tight);
    const colX = (c) => 70 + step * c;
    const nodeY = (c, j) => head + j * (size + gap);

    // links on one canvas (hundreds of SVG paths restyled every frame cost the browser too much)
    const canvas = el("canvas", { class: "links", style: `width:${width}px;height:${height}px` });
    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    canvas.addEventListener("mousemove", (e) => this.hoverLink(e));
    canvas.addEventListener("mouseleave", () => this.hide());
    canvas.addEventListener("click", (e) => {
      const hit = this.linkAt(e);
      if (hit) this.edit(e, hit.name, hit.l.k, hit.l.j);
    });
    canvas.dataset.help = "link";
    root.append(canvas);
    this.canvas = canvas;
    this.ratio = ratio;

    // nodes
    this.nodes = [];   // per column: [{canvas, name, unit}]
    const inputIndex = [];   // column 0 node j -> index into the model's inputs (or -1)
    cols.forEach((n, c) => {
      const colNodes = [];
      for (let j = 0; j < n; j++) {
        const x = colX(c) - (c === 0 ? 0 : size / 2);
        const y = nodeY(c, j);
        const canvas = el("canvas", { class: "node", width: 40, height: 40 });
        const box = el("div", { class: "unit", style: `left:${x}px;top:${y}px;width:${size}px;height:${size}px` }, canvas);
        if (c === 0) {
          const name = inputs[j];
          const on = !is2d || active.has(name);
          box.classList.add("feature");
          box.classList.toggle("off", !on);
          box.dataset.testid = `feature-${name}`;
          box.dataset.help = "feature";
          box.append(el("span", { class: "feature-name" }, name));
          if (is2d) box.addEventListener("click", () => this.hooks.toggleFeature(name));
          inputIndex.push(on ? info.feature_names.indexOf(name) : -1);
          box.style.left = `${x - size + 4}px`;
        } else if (c < cols.length - 1) {
          box.dataset.help = "unit";
          const layer = layers[c - 1];
          box.addEventListener("mouseenter", (e) => this.showNeuron(e, c, j, layer));
          box.addEventListener("mouseleave", () => this.hide());
        } else {
          box.classList.add("output");
          box.dataset.help = "outputNode";
        }
        let bias = null;
        if (c > 0) {   // the unit's bias: a small square at its bottom-left corner
          const name = c < cols.length - 1 ? layers[c - 1].name : "out";
          bias = el("i", { class: "bias", "data-help": "bias", "data-testid": `bias-${name}-${j}` });
          bias.addEventListener("mouseenter", (e) => { e.stopPropagation(); this.showBias(e, name, j); });
          bias.addEventListener("click", (e) => { e.stopPropagation(); this.edit(e, name, j, null); });
          box.append(bias);
        }
        root.append(box);
        colNodes.push({ canvas, box, bias, x: c === 0 ? x - size + 4 : x, y });
      }
      this.nodes.push(colNodes);
    });
    this.inputIndex = inputIndex;

    // links: weight[k][j] joins node j of column c to node k of column c + 1
    this.links = [];
    const denseNames = [...layers.map((l) => l.name), "out"];
    for (let c = 0; c < cols.length - 1; c++) {
      const group = [];
      const src = this.nodes[c], dst = this.nodes[c + 1];
      for (let j = 0; j < src.length; j++) {
        const jj = c === 0 ? inputIndex[j] : j;
        if (jj < 0) continue;
        for (let k = 0; k < dst.length; k++) {
          const x1 = src[j].x + size, y1 = src[j].y + size / 2;
          const x2 = dst[k].x, y2 = dst[k].y + size / 2;
          group.push({ x1, y1, x2, y2, k, j: jj });
        }
      }
      this.links.push({ name: denseNames[c], group });
    }

    // per-layer controls (2-D mode): units +/-, activation, count
    if (info.mode !== "image") {
      layers.forEach((layer, i) => {
        const x = colX(i + 1);
        const acts = schema.choices("model.activation");
        const current = (spec.model.activations || [])[i] || spec.model.activation;
        const sel = el("select", { class: "layer-act", "data-testid": `layer-act-${i}`, "data-help": "layerActivation" },
          ...acts.map((a) => el("option", { value: a }, t(`act.${a}`))));
        sel.value = current;
        sel.style.width = `${w - 4}px`;
        sel.addEventListener("change", () => this.hooks.setLayerAct(i, sel.value));
        const n = spec.model.hidden ? spec.model.hidden[i] ?? layer.units : layer.units;
        const count = el("div", { class: "count", "data-testid": `units-${i}`, title: t("units", { n }) }, narrow ? String(n) : t("units", { n }));
        const headBox = el("div", { class: "layer-head", style: `left:${x - w / 2}px;width:${w}px` },
          el("div", { class: "pm" },
            el("button", { class: "mini", "data-testid": `add-unit-${i}`, "data-help": "addUnit", onclick: () => this.hooks.addUnit(i, +1) }),
            el("button", { class: "mini", "data-testid": `remove-unit-${i}`, "data-help": "removeUnit", onclick: () => this.hooks.addUnit(i, -1) })),
          count, sel);
        headBox.querySelectorAll(".mini")[0].innerHTML = icon("plus");
        headBox.querySelectorAll(".mini")[1].innerHTML = icon("minus");
        root.append(headBox);
      });
    }
    root.append(el("div", { class: "col-label", style: `left:${colX(0) - size - 40}px;width:${size + 44}px;text-align:right` }, t(is2d ? "features" : "inputs")));
    const last = colX(cols.length - 1), left = Math.max(last - 40, last - step + w / 2 + 2);   // clear of the last layer's controls
    root.append(el("div", { class: "col-label right", style: `left:${left}px;width:${Math.min(last + 40, width) - left}px` }, t("output")));
    this.editor.hidden = true;
    root.append(this.editor);
  }

  // The box over the clicked link or bias, holding its value; Enter sends the new one.
  edit(e, layer, to, source) {
    const v = this.valueAt(layer, to, source);
    if (v === undefined) return;
    const r = this.root.getBoundingClientRect();
    Object.assign(this.editor.style, { left: `${e.clientX - r.left - 30}px`, top: `${e.clientY - r.top - 12}px` });
    this.editing = { layer, to, source };
    this.editor.value = Number(v.toFixed(4));
    this.editor.hidden = false;
    this.editor.focus();
    this.editor.select();
  }

  commitEdit() {
    const text = this.editor.value.trim().replace(",", ".");
    const v = Number(text);
    this.editor.hidden = true;
    if (!text || !Number.isFinite(v) || !this.editing) return;   // no number: nothing changes
    const { layer, to, source } = this.editing;
    this.hooks.setWeight(layer, to, source, v);
  }

  // Neuron heat maps and link widths from the latest frame.
  update(frame) {
    const { arrays } = frame;
    const session = this.session;
    const grids = session.featureGrids;
    if (grids && session.info.mode === "2d") {
      this.nodes[0].forEach((n, j) => {
        const g = grids[this.inputs[j]];
        if (g && !n.drawn) { heatmap(n.canvas, g, { scale: g.scale }); n.drawn = true; }
      });
    }
    const layers = hiddenLayers(session.info);
    layers.forEach((layer, i) => {
      const a = arrays[`unit:${layer.name}`];
      if (!a) return;
      this.nodes[i + 1].forEach((n, j) => heatmap(n.canvas, slice(a, j)));
    });
    const out = this.nodes[this.nodes.length - 1];
    if (arrays.boundary && out.length) {
      const b = arrays.boundary;
      if (b.shape.length === 3) {
        out.forEach((n, k) => heatmap(n.canvas, classGrid(b, k), { hue: CLASS_COLORS[k % CLASS_COLORS.length] }));
      } else heatmap(out[0].canvas, b, { task: session.info.task });
    }
    this.weights = {};
    const ctx = this.canvas.getContext("2d");
    ctx.setTransform(this.ratio, 0, 0, this.ratio, 0, 0);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    for (const { name, group } of this.links) {
      const w = arrays[`weight:${name}`];
      if (!w) continue;
      this.weights[name] = w;
      const cols = w.shape[1];
      for (const { x1, y1, x2, y2, k, j } of group) {   // width = |w|, color = sign
        const v = w.data[k * cols + j];
        const mx = (x1 + x2) / 2;
        ctx.beginPath();
        ctx.moveTo(x1, y1);
        ctx.bezierCurveTo(mx, y1, mx, y2, x2, y2);
        ctx.lineWidth = 0.4 + Math.min(Math.abs(v), 4) * 1.5;
        ctx.strokeStyle = css(diverging(Math.sign(v) * Math.min(1, 0.3 + Math.abs(v))), 0.9);
        ctx.stroke();
      }
    }
    this.biases = Object.fromEntries(Object.entries(arrays).filter(([k]) => k.startsWith("bias:")));
    const names = [...layers.map((l) => l.name), "out"];
    this.nodes.slice(1).forEach((col, c) => {
      const b = this.biases[`bias:${names[c]}`];
      col.forEach((n, j) => {   // CReLU's second half of units has no bias of its own
        const has = b && j < b.data.length;
        n.bias.hidden = !has;
        if (!has) return;
        const v = b.data[j];
        n.bias.dataset.value = String(Number(v.toFixed(4)));
        n.bias.style.background = css(diverging(Math.sign(v) * Math.min(1, 0.15 + Math.abs(v))));
      });
    });
  }

  // The link under the mouse: the nearest of each curve's sampled points, within 5 px.
  hoverLink(e) {
    const best = this.linkAt(e);
    if (best) this.showLink(e, best.name, best.l.k, best.l.j);
    else this.hide();
  }

  linkAt(e) {
    const r = this.canvas.getBoundingClientRect();
    const px = e.clientX - r.left, py = e.clientY - r.top;
    let best = null, dist = 25;
    for (const { name, group } of this.links) {
      for (const l of group) {
        if (px < l.x1 - 4 || px > l.x2 + 4) continue;
        for (let i = 0; i <= 16; i++) {   // cubic bezier with control points at the middle x
          const t = i / 16, u = 1 - t;
          const x = u * u * u * l.x1 + 3 * u * t * (l.x1 + l.x2) / 2 + t * t * t * l.x2;
          const y = (u * u * u + 3 * u * u * t) * l.y1 + (3 * u * t * t + t * t * t) * l.y2;
          const d = (x - px) ** 2 + (y - py) ** 2;
          if (d < dist) { dist = d; best = { name, l }; }
        }
      }
    }
    return best;
  }

  // Dense layer ``layer``'s weight from unit ``source`` below to its unit ``to``, or (source
  // null) unit ``to``'s bias; undefined when there is none (CReLU's second half has no bias).
  valueAt(layer, to, source) {
    if (source === null) {
      const b = this.biases?.[`bias:${layer}`];
      return b && to < b.data.length ? b.data[to] : undefined;
    }
    const w = this.weights?.[layer];
    return w ? w.data[to * w.shape[1] + source] : undefined;
  }

  showLink(e, name, k, j) {
    const v = this.valueAt(name, k, j);
    if (v !== undefined) this.show(e, t("tip.weight", { layer: name, to: k + 1, from: j + 1, value: v.toFixed(4) }));
  }

  showNeuron(e, c, j, layer) {
    const v = this.valueAt(layer.name, j, null);
    const bias = v === undefined ? "-" : v.toFixed(4);
    this.show(e, t("tip.unit", { layer: layer.name, unit: j + 1, act: layer.activation ? t(`act.${layer.activation}`) : "-", bias }));
    this.hooks.hover({ layer: layer.name, unit: j });
  }

  showBias(e, layer, j) {
    const v = this.valueAt(layer, j, null);
    if (v !== undefined) this.show(e, t("tip.bias", { layer, unit: j + 1, value: v.toFixed(4) }));
  }

  show(e, text) {
    this.tip.textContent = text;
    this.tip.hidden = false;
    this.tip.style.left = `${e.clientX + 12}px`;
    this.tip.style.top = `${e.clientY + 12}px`;
  }

  hide() {
    this.tip.hidden = true;
    this.hooks.hover(null);
  }
}

// P(class k) out of a (R, R, K) grid, as a (R, R) grid.
export function classGrid(b, k) {
  const [r, c, K] = b.shape;
  const data = new Float32Array(r * c);
  for (let i = 0; i < r * c; i++) data[i] = b.data[i * K + k];
  return { shape: [r, c], data };
}
