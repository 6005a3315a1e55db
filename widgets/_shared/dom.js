// DOM helpers for fmviz widgets. Text from models and logs is untrusted: it only ever goes
// into textContent or attribute values set through the DOM, never into innerHTML.
// No other module may be imported here: fmviz inlines this file into each widget's module.

export function h(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

export function button(label, title, onClick) {
  const node = h("button", "fmviz-button", label);
  node.type = "button";
  if (title) node.title = title;
  node.addEventListener("click", onClick);
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

// Colours of clusters (Tableau 10 then its lighter half); outliers are grey.
export const PALETTE = [
  "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
  "#ff9da7", "#9c755f", "#86bcb6", "#a0cbe8", "#ffbe7d", "#8cd17d", "#f1ce63",
  "#d4a6c8", "#fabfd2", "#d7b5a6", "#79706e", "#499894", "#b6992d",
];
export const OUTLIER_COLOUR = "#b0b0b0";

export function clusterColour(index, isOutlier) {
  if (isOutlier || index < 0) return OUTLIER_COLOUR;
  return PALETTE[index % PALETTE.length];
}
