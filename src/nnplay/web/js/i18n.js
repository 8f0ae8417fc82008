// The page's text: every string comes from the server (nnplay/i18n/<lang>.json, "web.*" keys).
let messages = {};
let fallback = {};
export let lang = localStorage.getItem("nnplay.lang") || "en";

export async function load(next) {
  lang = next;
  localStorage.setItem("nnplay.lang", lang);
  const get = (l) => fetch(`/api/i18n/${l}`).then((r) => r.json());
  [messages, fallback] = await Promise.all([get(lang), lang === "en" ? {} : get("en")]);
  document.documentElement.lang = lang;
  apply(document);
}

// t(key, {n: 3}) -> the message with {n} filled in; the key itself if missing.
export function t(key, vars = {}) {
  const text = messages[key] ?? fallback[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, k) => (k in vars ? vars[k] : `{${k}}`));
}

export function has(key) {
  return key in messages || key in fallback;
}

// Fill [data-i18n] text, [data-i18n-title] tooltips and [data-help] explanations.
export function apply(root) {
  root.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  root.querySelectorAll("[data-help]").forEach((el) => {
    const key = `help.${el.dataset.help}`;
    if (has(key)) el.title = t(key);
  });
}
