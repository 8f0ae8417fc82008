// The experiment lives in the URL hash as readable key=value pairs: the spec's leaves
// that differ from the defaults, e.g. #train.lr=0.03&model.hidden=[8,8,8].
// Values are JSON. Reloading or sharing the link restores the experiment.

function flatten(obj, prefix = "", out = {}) {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === "object" && !Array.isArray(v)) flatten(v, key, out);
    else out[key] = v;
  }
  return out;
}

export function encode(spec, defaults, extra = {}) {
  const base = flatten(defaults);
  const parts = [];
  for (const [k, v] of Object.entries(flatten(spec))) {
    if (JSON.stringify(base[k]) !== JSON.stringify(v)) parts.push(`${k}=${encodeURIComponent(JSON.stringify(v))}`);
  }
  for (const [k, v] of Object.entries(extra)) parts.push(`${k}=${encodeURIComponent(v)}`);
  return parts.join("&");
}

// -> {spec overrides as a nested object, extras (keys starting with "~")}, or null if empty.
export function decode(hash) {
  const text = hash.replace(/^#/, "");
  if (!text) return null;
  const spec = {};
  const extra = {};
  for (const part of text.split("&")) {
    const i = part.indexOf("=");
    if (i < 1) continue;
    const key = part.slice(0, i);
    const raw = decodeURIComponent(part.slice(i + 1));
    if (key.startsWith("~")) { extra[key.slice(1)] = raw; continue; }
    let value;
    try { value = JSON.parse(raw); } catch { value = raw; }
    const path = key.split(".");
    let node = spec;
    for (const p of path.slice(0, -1)) node = node[p] = node[p] && typeof node[p] === "object" ? node[p] : {};
    node[path[path.length - 1]] = value;
  }
  return { spec, extra };
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
