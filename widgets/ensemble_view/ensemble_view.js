// fmviz ensemble view: the members' pairwise ARI, then one heatmap per member (its clusters
// against the aggregate's, episode counts, the best one-to-one matching outlined). A cluster
// set made without an ensemble shows its plain message instead. Traits match
// fmviz/views/ensemble_view.py; counts, matching and ARI arrive as typed binary.
import { decodeArray } from "../_shared/arrays.js";
import { h, clear } from "../_shared/dom.js";
import { heatmap, formatValue } from "../_shared/heatmap.js";

function render({ model, el }) {
  const root = h("div", "fmviz-ensemble");
  el.append(root);
  let drawn = [];

  function draw() {
    for (const d of drawn) d.destroy();
    drawn = [];
    clear(root);
    root.append(h("div", "fmviz-ensemble-title", model.get("title") || ""));
    root.append(h("div", "fmviz-ensemble-message", model.get("message") || ""));
    if (!model.get("has_ensemble")) {
      root.classList.add("fmviz-ensemble-empty");
      return;
    }
    root.classList.remove("fmviz-ensemble-empty");
    const members = model.get("members") || [];
    const labels = members.map((m) => ({ id: m.label, name: m.label }));
    const table = h("table", "fmviz-ensemble-table");
    const head = h("tr", "");
    for (const text of ["clustering", "clusters", "ARI with aggregate", "prompt (start)"]) head.append(h("th", "", text));
    table.append(head);
    for (const m of members) {
      const row = h("tr", "");
      row.append(h("td", "", m.label), h("td", "", m.n_clusters), h("td", "", formatValue(m.ari, "ari")), h("td", "fmviz-ensemble-prompt", m.prompt || ""));
      table.append(row);
    }
    root.append(table);
    for (const f of model.get("failures") || []) root.append(h("div", "fmviz-ensemble-failure", `${f.label} failed: ${f.error}`));

    const grid = h("div", "fmviz-ensemble-grid");
    root.append(grid);
    drawn.push(heatmap(grid, {
      values: decodeArray(model.get("ari")).data, rows: labels, columns: labels, matched: [],
      covered: null, kind: "ari", range: [0, 1], title: "Pairwise agreement (ARI, 1 = same partition)", cell: 56,
    }));
    const all = decodeArray(model.get("panel_values")).data;
    const triples = decodeArray(model.get("panel_matching")).data;
    (model.get("panels") || []).forEach((panel, k) => {
      const size = panel.n_rows * panel.n_cols;
      const matched = [];
      for (let t = 0; t + 2 < triples.length; t += 3) if (triples[t] === k) matched.push([triples[t + 1], triples[t + 2]]);
      const d = heatmap(grid, {
        values: all.subarray(panel.offset, panel.offset + size), rows: panel.rows, columns: panel.columns, matched,
        covered: null, kind: "count", title: panel.title, rowTitle: "member clusters", columnTitle: "aggregate clusters", cell: 34,
      });
      d.element.dataset.panel = String(k);
      drawn.push(d);
    });
    root.dataset.drawn = String(Number(root.dataset.drawn || 0) + 1);
  }
  const traits = ["has_ensemble", "message", "members", "failures", "panels", "panel_values", "panel_matching", "ari", "title"];
  for (const t of traits) model.on(`change:${t}`, draw);
  draw();
  return () => {
    for (const t of traits) model.off(`change:${t}`, draw);
    for (const d of drawn) d.destroy();
  };
}

export default { render };
