// Icons drawn here as inline SVG (no icon font, nothing fetched from elsewhere).
const PATHS = {
  play: '<path d="M8 5.5v13l11-6.5z" fill="currentColor"/>',
  pause: '<rect x="6.5" y="5" width="4" height="14" rx="1" fill="currentColor"/><rect x="13.5" y="5" width="4" height="14" rx="1" fill="currentColor"/>',
  step: '<path d="M6 6v12l8.5-6z" fill="currentColor"/><rect x="15.5" y="6" width="2.5" height="12" rx="1" fill="currentColor"/>',
  reset: '<path d="M12 5a7 7 0 1 1-6.6 4.7" fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round"/><path d="M4 4.5v5.2h5.2" fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round"/>',
  plus: '<path d="M12 6v12M6 12h12" stroke="currentColor" stroke-width="2.4" stroke-linecap="round"/>',
  minus: '<path d="M6 12h12" stroke="currentColor" stroke-width="2.4" stroke-linecap="round"/>',
  dice: '<rect x="4.5" y="4.5" width="15" height="15" rx="3" fill="none" stroke="currentColor" stroke-width="1.8"/><circle cx="9" cy="9" r="1.4" fill="currentColor"/><circle cx="15" cy="15" r="1.4" fill="currentColor"/><circle cx="15" cy="9" r="1.4" fill="currentColor"/><circle cx="9" cy="15" r="1.4" fill="currentColor"/>',
  upload: '<path d="M12 15V5m0 0-4 4m4-4 4 4" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"/><path d="M5 15v3.5h14V15" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"/>',
  pen: '<path d="M5 19l1-4L16 5l3 3L9 18z" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linejoin="round"/>',
  save: '<path d="M5 5h11l3 3v11H5z" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linejoin="round"/><rect x="8" y="5" width="7" height="4" fill="currentColor"/><rect x="8" y="13" width="8" height="6" rx="1" fill="none" stroke="currentColor" stroke-width="1.6"/>',
  compare: '<rect x="3.5" y="5" width="7.5" height="14" rx="1.5" fill="none" stroke="currentColor" stroke-width="1.8"/><rect x="13" y="5" width="7.5" height="14" rx="1.5" fill="none" stroke="currentColor" stroke-width="1.8"/>',
  close: '<path d="M7 7l10 10M17 7 7 17" stroke="currentColor" stroke-width="2.2" stroke-linecap="round"/>',
  download: '<path d="M12 5v10m0 0-4-4m4 4 4-4" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"/><path d="M5 16v3h14v-3" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"/>',
};

// Little pictures of the 2-D data sets, for the data set buttons.
const O = "#f59322", B = "#0877bd";
const DATA = {
  circle: `<circle cx="12" cy="12" r="9" fill="${O}" opacity=".85"/><circle cx="12" cy="12" r="4.6" fill="${B}"/>`,
  xor: `<rect x="3" y="3" width="9" height="9" fill="${B}"/><rect x="12" y="12" width="9" height="9" fill="${B}"/><rect x="12" y="3" width="9" height="9" fill="${O}"/><rect x="3" y="12" width="9" height="9" fill="${O}"/>`,
  gauss: `<circle cx="8" cy="15.5" r="4.6" fill="${O}"/><circle cx="16" cy="8.5" r="4.6" fill="${B}"/>`,
  spiral: `<path d="M12 12c0-2 3-2 3 0s-2 5-5 4-4-5-1-8 9-2 9 3-4 9-9 8" fill="none" stroke="${B}" stroke-width="2.4" stroke-linecap="round"/><path d="M12 12c0 2-3 2-3 0s2-5 5-4 4 5 1 8-9 2-9-3 4-9 9-8" fill="none" stroke="${O}" stroke-width="2.4" stroke-linecap="round"/>`,
  moons: `<path d="M3.5 13a6.5 6.5 0 0 1 13 0" fill="none" stroke="${O}" stroke-width="3" stroke-linecap="round"/><path d="M8 11a6.5 6.5 0 0 0 13 0" fill="none" stroke="${B}" stroke-width="3" stroke-linecap="round"/>`,
  "reg-plane": `<defs><linearGradient id="gp" x1="0" y1="1" x2="1" y2="0"><stop offset="0" stop-color="${O}"/><stop offset=".5" stop-color="#f4f4f4"/><stop offset="1" stop-color="${B}"/></linearGradient></defs><rect x="3" y="3" width="18" height="18" fill="url(#gp)"/>`,
  "reg-gauss": `<rect x="3" y="3" width="18" height="18" fill="#f4f4f4"/><circle cx="7" cy="8" r="3.2" fill="${B}"/><circle cx="17" cy="8" r="3.2" fill="${B}"/><circle cx="12" cy="8" r="3.2" fill="${O}"/><circle cx="7" cy="16" r="3.2" fill="${O}"/><circle cx="17" cy="16" r="3.2" fill="${O}"/><circle cx="12" cy="16" r="3.2" fill="${B}"/>`,
};

export function icon(name) {
  return `<svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">${PATHS[name] || ""}</svg>`;
}

export function dataIcon(name) {
  return `<svg viewBox="0 0 24 24" aria-hidden="true"><clipPath id="c-${name}"><rect x="3" y="3" width="18" height="18" rx="2"/></clipPath><g clip-path="url(#c-${name})">${DATA[name] || ""}</g></svg>`;
}

// Put icons into every [data-icon] element (before its text, if any).
export function applyIcons(root) {
  root.querySelectorAll("[data-icon]").forEach((el) => {
    if (el.querySelector("svg")) el.querySelector("svg").remove();
    el.insertAdjacentHTML("afterbegin", icon(el.dataset.icon));
  });
}
