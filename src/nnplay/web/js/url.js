// The experiment lives in the URL hash as readable key=value pairs: the spec's leaves
// that differ from the defaults, e.g. #train.lr=0.03&model.hidden=[8,8,8]&model.kind=gan.
// Values are JSON in which a plain word needs no quotes (model.activations=[tanh,relu]);
// only %, &, # and spaces are escaped. A compared network B keeps its own leaves that differ
// from A's as ~b.<key>=<value> (~b alone: the same as A); other ~keys are the views' state.
// Reloading or sharing the link restores the experiment.

const WORD = /^[A-Za-z_][\w.+-]*$/;                       // written without quotes
const TOKEN = /"(?:[^"\\]|\\.)*"|-?\d[\d.eE+-]*|[A-Za-z_][\w.+-]*/g;   // a string, a number, a word
const KEEP = new Set(["true", "false", "null"]);

function flatten(obj, prefix = "", out = {}) {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === "object" && !Array.isArray(v)) flatten(v, key, out);
    else out[key] = v;
  }
  return out;
}

// JSON with the quotes left off plain words: ["spiral","my data"] -> [spiral,"my data"]
export function write(v) {
  if (typeof v === "string") return WORD.test(v) && !KEEP.has(v) ? v : JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(write).join(",")}]`;
  if (v && typeof v === "object") return `{${Object.entries(v).map(([k, x]) => `${write(k)}:${write(x)}`).join(",")}}`;
  return JSON.stringify(v);
}

// write's inverse (plain JSON reads too); text that is neither stays a string
export function read(text) {
  const json = text.replace(TOKEN, (m) => (m[0] === '"' || !/^[A-Za-z_]/.test(m) || KEEP.has(m) ? m : `"${m}"`));
  try { return JSON.parse(json); } catch { return text; }
}

const esc = (s) => String(s).replace(/[%&#\s]/g, encodeURIComponent);

function pairs(spec, base, prefix, out) {
  const b = flatten(base);
  for (const [k, v] of Object.entries(flatten(spec))) {
    if (JSON.stringify(b[k]) !== JSON.stringify(v)) out.push(`${prefix}${k}=${esc(write(v))}`);
  }
  return out;
}

// spec against defaults, then the extras (~key: value), then B against spec when comparing
export function encode(spec, defaults, extra = {}, b = null) {
  const parts = pairs(spec, defaults, "", []);
  for (const [k, v] of Object.entries(extra)) parts.push(`${k}=${esc(v)}`);
  if (b) {
    const n = parts.length;
    pairs(b, spec, "~b.", parts);
    if (parts.length === n) parts.push("~b");
  }
  return parts.join("&");
}

function put(tree, key, value) {
  const path = key.split(".");
  let node = tree;
  for (const p of path.slice(0, -1)) node = node[p] = node[p] && typeof node[p] === "object" ? node[p] : {};
  node[path[path.length - 1]] = value;
}

// -> {spec: overrides as a nested object, extra: {key: text} of the ~keys, b: B's overrides
// or null when not comparing}, or null if the hash is empty.
export function decode(hash) {
  const text = hash.replace(/^#/, "");
  if (!text) return null;
  const spec = {}, extra = {};
  let b = null;
  for (const part of text.split("&")) {
    const i = part.indexOf("=");
    const key = i < 0 ? part : part.slice(0, i);
    let raw = i < 0 ? "" : part.slice(i + 1);
    try { raw = decodeURIComponent(raw); } catch { /* a stray %: kept as written */ }
    if (key === "~b") b = b || {};
    else if (key.startsWith("~b.")) put(b = b || {}, key.slice(3), read(raw));
    else if (key.startsWith("~") && i > 0) extra[key.slice(1)] = raw;
    else if (i > 0) put(spec, key, read(raw));
  }
  return { spec, extra, b };
}

// Overrides applied on top of defaults (deep merge of plain objects; arrays replace).
export function merge(defaults, over) {
  const out = structuredClone(defaults);
  const put = (dst, src) => {
    for (const [k, v] of Object.entries(src)) {
      if (v && typeof v === "object" && !Array.isArray(v) && dst[k] && typeof dst[k] === "object" && !Array.isArray(dst[k])) put(dst[k], v);
      else dst[k] = v;
    }
  };
  put(out, over);
  return out;
}
