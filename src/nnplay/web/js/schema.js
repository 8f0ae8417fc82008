// The spec's JSON schema, sent in the server's hello with its caps applied: each control
// reads a field's bounds, default and UI hints ("ui": choices, slider, start) from it, so
// the page keeps no copy of the library's values.
let root = null;

export function load(schema) { root = schema; }

// A $ref, or an optional field's non-null branch (with the field's own default and hints).
function resolve(node) {
  if (node.$ref) return { ...root.$defs[node.$ref.split("/").pop()], ...node, $ref: undefined };
  const branch = node.anyOf?.find((b) => b.type !== "null");
  return branch ? { ...resolve(branch), default: node.default, ui: node.ui } : node;
}

// The schema of the field at a dotted path ("train.lr", "model.layers.filters").
export function field(path) {
  let node = root;
  for (const part of path.split(".")) {
    node = resolve(node);
    if (node.items && !node.properties) node = resolve(node.items);
    node = node.properties[part];
  }
  return resolve(node);
}

export const choices = (path) => field(path).ui?.choices;
export const defaultOf = (path) => field(path).default;
export const start = (path) => field(path).ui?.start;

// {min, max, step} of a slider: the hint's, else the field's own bounds (capped by the server).
export function range(path) {
  const f = field(path), hint = f.ui?.slider || {};
  return { min: hint.min ?? f.minimum, max: hint.max ?? f.maximum, step: hint.step ?? 1 };
}
