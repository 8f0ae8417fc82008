// A drawing pad for image networks, shared by the Predict view and the image mode's
// "your own image": the learner draws (white on black, as the digits are stored) or loads a
// picture, and the pad is downsampled to the network's C x H x W by averaging blocks of
// pixels: how scikit-learn's digits were made (on-pixels counted in 4x4 blocks of a 32x32
// bitmap). Raw pixels come out in [0, 1]; the server scales them as in training.
import { el, image } from "./draw.js";

// {c, h, w}: the network's raw input shape; cell: the pad's size in CSS pixels;
// onInput(raw: Float32Array of c*h*w): called when a stroke ends or a picture is loaded.
export function drawingPad({ c, h, w, cell = 224, onInput, testid = "pad" }) {
  const k = Math.ceil(cell / Math.max(h, w));
  const pad = el("canvas", { width: w * k, height: h * k, class: "predict-pad", "data-testid": `${testid}-canvas` });
  const preview = el("canvas", { width: w, height: h, class: "predict-preview", "data-testid": `${testid}-preview` });
  const ctx = pad.getContext("2d", { willReadFrequently: true });
  const clear = () => { ctx.fillStyle = "#000"; ctx.fillRect(0, 0, pad.width, pad.height); };
  clear();
  // the pad averaged over k x k blocks, per channel (one channel: the mean of red, green, blue)
  const raw = () => {
    const px = ctx.getImageData(0, 0, pad.width, pad.height).data;
    const out = new Float32Array(c * h * w);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const s = [0, 0, 0];
      for (let dy = 0; dy < k; dy++) for (let dx = 0; dx < k; dx++) {
        const i = ((y * k + dy) * pad.width + x * k + dx) * 4;
        s[0] += px[i]; s[1] += px[i + 1]; s[2] += px[i + 2];
      }
      for (let ch = 0; ch < c; ch++) {
        const v = c === 3 ? s[ch] : (s[0] + s[1] + s[2]) / 3;
        out[ch * h * w + y * w + x] = v / (k * k * 255);
      }
    }
    return out;
  };
  const emit = () => {
    const r = raw();
    image(preview, r.subarray(0, h * w), h, w, { lo: 0, hi: 1 });
    onInput(r);
  };
  let down = false, last = null;
  const at = (e) => { const r = pad.getBoundingClientRect(); return [(e.clientX - r.left) * pad.width / r.width, (e.clientY - r.top) * pad.height / r.height]; };
  const stroke = (p) => {
    ctx.strokeStyle = "#fff"; ctx.lineWidth = pad.width * 0.11; ctx.lineCap = "round"; ctx.lineJoin = "round";
    ctx.beginPath(); ctx.moveTo(...(last || p)); ctx.lineTo(...p); ctx.stroke();
    last = p;
  };
  pad.addEventListener("pointerdown", (e) => { down = true; last = null; pad.setPointerCapture(e.pointerId); stroke(at(e)); });
  pad.addEventListener("pointermove", (e) => { if (down) stroke(at(e)); });
  const up = () => { if (!down) return; down = false; emit(); };
  pad.addEventListener("pointerup", up);
  pad.addEventListener("pointercancel", up);
  return {
    pad, preview, clear, raw,
    // a picture file, fitted into the pad on black (keeps its aspect ratio)
    async load(file) {
      const bmp = await createImageBitmap(file);
      clear();
      const s = Math.min(pad.width / bmp.width, pad.height / bmp.height);
      const dw = bmp.width * s, dh = bmp.height * s;
      ctx.drawImage(bmp, (pad.width - dw) / 2, (pad.height - dh) / 2, dw, dh);
      emit();
    },
    // dark ink on light paper -> light on dark, as the training images are
    invert() {
      const d = ctx.getImageData(0, 0, pad.width, pad.height);
      for (let i = 0; i < d.data.length; i += 4) for (let j = 0; j < 3; j++) d.data[i + j] = 255 - d.data[i + j];
      ctx.putImageData(d, 0, 0);
      emit();
    },
  };
}
