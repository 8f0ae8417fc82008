// Canvas drawing: color scales, heat maps, data points, small images. Drawing only:
// every number drawn here comes from a frame, every color from the hello's palette.

// The colors come from the library (nnplay/palette.py, the figures' colors too) in the hello:
// setPalette fills these arrays in place, so every module's imports see them.
export const NEG = [];            // orange: class 0 / negative
export const POS = [];            // blue: class 1 / positive
export const CLASS_COLORS = [];   // class k: CLASS_COLORS[k % length]
const WHITE = [];                 // chance, zero
const FADE = {};                  // a multiclass boundary's fade: {floor, span, discrete}

export function setPalette({ classes, white, fade }) {
  CLASS_COLORS.splice(0, Infinity, ...classes);
  NEG.splice(0, Infinity, ...classes[0]);
  POS.splice(0, Infinity, ...classes[1]);
  WHITE.splice(0, Infinity, ...white);
  Object.assign(FADE, fade);
}

export const css = (c, a = 1) => `rgba(${c[0]},${c[1]},${c[2]},${a})`;
const mix = (a, b, t) => [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];

// v in [-1, 1] -> orange .. white .. blue (beyond: clipped)
export function diverging(v) {
  const x = Math.max(-1, Math.min(1, v));
  return x < 0 ? mix(WHITE, NEG, -x) : mix(WHITE, POS, x);
}

// Fill an RGBA buffer from a grid: (R, R, K) class probabilities; or (R, R) with a hue, one class's
// probability; or (R, R) binary P(class 1), drawn as 2p - 1; or (R, R) values times scale, then
// clipped to [-1, 1] (a unit's raw activation: scale 1, so a ReLU past 1 is full blue).
function pixels(grid, task, discrete, scale = 1, hue = null) {
  const [rows, cols] = grid.shape;
  const k = grid.shape[2] || 0;
  const out = new Uint8ClampedArray(rows * cols * 4);
  const d = grid.data;
  for (let i = 0; i < rows * cols; i++) {
    let c;
    if (k) {   // K classes: mix class colors by probability, paler where unsure (figure.confidence_image)
      let best = 0;
      for (let j = 1; j < k; j++) if (d[i * k + j] > d[i * k + best]) best = j;
      if (discrete) c = mix(WHITE, CLASS_COLORS[best % CLASS_COLORS.length], FADE.discrete);
      else {
        c = [0, 0, 0];
        for (let j = 0; j < k; j++) {
          const col = CLASS_COLORS[j % CLASS_COLORS.length];
          c[0] += d[i * k + j] * col[0]; c[1] += d[i * k + j] * col[1]; c[2] += d[i * k + j] * col[2];
        }
        const sure = (d[i * k + best] - 1 / k) / (1 - 1 / k);
        c = mix(WHITE, c, FADE.floor + FADE.span * sure);
      }
    } else if (hue) {   // one class's probability: white .. that class's color
      c = mix(WHITE, hue, discrete ? (d[i] > 0.5 ? 0.8 : 0) : Math.max(0, Math.min(1, d[i])));
    } else {
      let v = task === "binary" ? 2 * d[i] - 1 : d[i] * scale;
      if (discrete) v = v > 0 ? 0.75 : -0.75;
      c = diverging(v);
    }
    out[i * 4] = c[0]; out[i * 4 + 1] = c[1]; out[i * 4 + 2] = c[2]; out[i * 4 + 3] = 255;
  }
  return [out, cols, rows];
}

const scratch = document.createElement("canvas");

// Draw a grid as a heat map filling the canvas: smoothed, or crisp cells when discrete.
export function heatmap(canvas, grid, { task = "regression", discrete = false, scale = 1, alpha = 1, hue = null } = {}) {
  const [buf, w, h] = pixels(grid, task, discrete, scale, hue);
  scratch.width = w; scratch.height = h;
  scratch.getContext("2d").putImageData(new ImageData(buf, w, h), 0, 0);
  const ctx = canvas.getContext("2d");
  ctx.save();
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.globalAlpha = alpha;
  ctx.imageSmoothingEnabled = !discrete;
  ctx.drawImage(scratch, 0, 0, canvas.width, canvas.height);
  ctx.restore();
}

// One unit's (R, R) grid out of a (units, R, R) array: a view, values as sent (not rescaled).
export function slice(arr, i) {
  const [, r, c] = arr.shape;
  return { shape: [r, c], data: arr.data.subarray(i * r * c, (i + 1) * r * c) };
}

// Points [[x1, x2, label], ...] on a canvas showing [-extent, extent]^2.
export function points(canvas, pts, { extent, task = "binary", test = false, radius = 3.2 } = {}) {
  const ctx = canvas.getContext("2d");
  const s = canvas.width / (2 * extent);
  ctx.lineWidth = test ? 1.4 : 1;
  for (const [x1, x2, y] of pts) {
    const col = task === "regression" ? diverging(y) : CLASS_COLORS[y % CLASS_COLORS.length];
    ctx.beginPath();
    ctx.arc((x1 + extent) * s, (extent - x2) * s, radius, 0, 2 * Math.PI);
    ctx.fillStyle = css(col);
    ctx.strokeStyle = test ? "#111" : "#fff";
    ctx.fill(); ctx.stroke();
  }
}

// Axis ticks of a boundary canvas showing [-extent, extent]^2: x1 along the bottom edge, x2 up
// the left edge, each at -extent/2, 0 and extent/2 (in data units, as the points are placed).
export function ticks(canvas, extent) {
  const ctx = canvas.getContext("2d");
  ctx.save();
  ctx.fillStyle = "rgba(0,0,0,0.45)";
  ctx.font = "10px system-ui, sans-serif";
  const s = canvas.width / (2 * extent);
  for (const v of [-extent / 2, 0, extent / 2]) {
    ctx.fillText(String(v), (v + extent) * s + 2, canvas.height - 3);
    ctx.fillText(String(v), 2, (extent - v) * s - 2);
  }
  ctx.restore();
}

// A grey-scale image (H, W): the first H*W values (channel 0), light to dark over [lo, hi]
// (default: the image's own range); signed: diverging colors, 0 white, the largest |value| full.
export function image(canvas, data, h, w, { lo = null, hi = null, signed = false } = {}) {
  let a = lo, b = hi;
  if (a === null || b === null) {
    a = Infinity; b = -Infinity;
    for (let i = 0; i < h * w; i++) { if (data[i] < a) a = data[i]; if (data[i] > b) b = data[i]; }
  }
  const buf = new Uint8ClampedArray(h * w * 4);
  for (let i = 0; i < h * w; i++) {
    let c;
    if (signed) {
      const m = Math.max(Math.abs(a), Math.abs(b)) || 1;
      c = diverging(data[i] / m);
    } else {
      const v = b > a ? (data[i] - a) / (b - a) : 0;
      const g = 255 - 235 * v;
      c = [g, g, g + 6 * v];
    }
    buf[i * 4] = c[0]; buf[i * 4 + 1] = c[1]; buf[i * 4 + 2] = c[2]; buf[i * 4 + 3] = 255;
  }
  scratch.width = w; scratch.height = h;
  scratch.getContext("2d").putImageData(new ImageData(buf, w, h), 0, 0);
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = false;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(scratch, 0, 0, canvas.width, canvas.height);
}

// Size a canvas's backing store to its CSS size times the device pixel ratio.
export function fit(canvas) {
  const r = window.devicePixelRatio || 1;
  const w = Math.round(canvas.clientWidth * r), h = Math.round(canvas.clientHeight * r);
  if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
}

export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k === "dataset") Object.assign(e.dataset, v);
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined && v !== false) e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c);
  return e;
}
