// fmviz taxonomy heatmap: failure modes (rows) against categories (columns) on a canvas, the
// one-to-one matching outlined, covered categories ticked, example episodes on hover.
// Traits match fmviz/views/taxonomy_heatmap.py; values and matching arrive as typed binary.
import { decodeArray } from "../_shared/arrays.js";
import { h, clear } from "../_shared/dom.js";
import { heatmap } from "../_shared/heatmap.js";

function render({ model, el }) {
  const root = h("div", "fmviz-taxonomy");
  const summary = h("div", "fmviz-taxonomy-summary");
  const holder = h("div", "fmviz-taxonomy-holder");
  root.append(holder, summary);
  el.append(root);
  let drawn = null;

  function draw() {
    if (drawn) drawn.destroy();
    clear(summary);
    const rows = model.get("rows") || [], columns = model.get("columns") || [];
    const values = decodeArray(model.get("values")).data;
    const pairs = decodeArray(model.get("matching")).data;
    const matched = [];
    for (let k = 0; k + 1 < pairs.length; k += 2) matched.push([pairs[k], pairs[k + 1]]);
    const covered = model.get("covered") || [];
    drawn = heatmap(holder, {
      values, rows, columns, matched,
      covered: covered.length === columns.length ? covered : null,
      kind: model.get("kind"),
      examples: model.get("examples") || {},
      notes: model.get("notes") || {},
      rowExamples: model.get("row_examples") || {},
      title: model.get("title"),
      rowTitle: model.get("row_title"),
      columnTitle: model.get("column_title"),
    });
    const n = covered.filter(Boolean).length;
    const kind = model.get("kind");
    const rule = kind === "similarity" ? `matched score ≥ ${model.get("threshold")}` : `matched cluster holds ≥ ${Math.round(model.get("threshold") * 100)}% of the category`;
    summary.append(
      h("span", "fmviz-taxonomy-coverage", `Coverage: ${n} of ${columns.length} categories (${rule})`),
      h("span", "fmviz-taxonomy-key", ` · red outline: optimal one-to-one matching (${matched.length} pairs)`),
    );
    root.dataset.drawn = String(Number(root.dataset.drawn || 0) + 1);
  }
  const traits = ["values", "rows", "columns", "matching", "covered", "kind", "examples", "notes", "row_examples", "title", "row_title", "column_title", "threshold"];
  for (const t of traits) model.on(`change:${t}`, draw);
  draw();
  return () => {
    for (const t of traits) model.off(`change:${t}`, draw);
    if (drawn) drawn.destroy();
  };
}

export default { render };
