// A labelled canvas heatmap with matched cells outlined and a hover card, shared by the
// taxonomy heatmap and the ensemble view. Labels are measured before layout so they fit (long
// names are cut with an ellipsis, the full name is in the hover card); every text drawn comes
// from the caller's data and reaches the page only through canvas fillText or textContent.
// No other module may be imported here: fmviz inlines this file into each widget's module.

const FONT = '12px system-ui, -apple-system, "Segoe UI", sans-serif';
const MAX_LABEL = 220; // CSS px for row labels and the slanted column labels

function node(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined && text !== null) el.textContent = String(text);
  return el;
}

function fit(ctx, text, width) {
  const value = String(text);
  if (ctx.measureText(value).width <= width) return value;
  let lo = 0, hi = value.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ctx.measureText(value.slice(0, mid) + "…").width <= width) lo = mid; else hi = mid - 1;
  }
  return value.slice(0, lo) + "…";
}

function colour(t) {
  // white -> deep blue, t in [0, 1]
  const a = [247, 251, 255], b = [8, 48, 107];
  const k = Math.max(0, Math.min(1, t));
  return `rgb(${a.map((v, i) => Math.round(v + (b[i] - v) * k)).join(",")})`;
}

export function formatValue(value, kind) {
  if (!Number.isFinite(value)) return "–";
  if (kind === "count") return String(Math.round(value));
  if (kind === "share") return `${Math.round(value * 100)}%`;
  return Math.abs(value) >= 10 ? value.toFixed(0) : value.toFixed(2);
}

// spec: {values (Float32Array, row-major), rows: [{id, name}], columns: [{id, name}],
//   matched: [[i, j]], covered: [bool] | null, kind, examples: {"i,j": [{id, text}]},
//   notes: {"i,j": text}, rowExamples: {"i": [{id, text}]}, title, rowTitle, columnTitle, cell (max px), range: [min, max] | null}
export function heatmap(container, spec) {
  const box = node("div", "fmviz-heatmap");
  const title = node("div", "fmviz-heatmap-title", spec.title || "");
  title.hidden = !spec.title;
  const stage = node("div", "fmviz-heatmap-stage");
  const canvas = node("canvas", "fmviz-heatmap-canvas");
  const card = node("div", "fmviz-heatmap-card");
  card.hidden = true;
  stage.append(canvas, card);
  box.append(title, stage);
  container.append(box);

  const rows = spec.rows || [], columns = spec.columns || [];
  const nr = rows.length, nc = columns.length, values = spec.values;
  const matched = new Set((spec.matched || []).map(([i, j]) => `${i},${j}`));
  let lo = Infinity, hi = -Infinity;
  for (let k = 0; k < nr * nc; k++) if (Number.isFinite(values[k])) { lo = Math.min(lo, values[k]); hi = Math.max(hi, values[k]); }
  if (spec.range) [lo, hi] = spec.range;
  if (!Number.isFinite(lo)) { lo = 0; hi = 1; }
  if (spec.kind === "count" || spec.kind === "share") lo = Math.min(lo, 0);

  const ctx = canvas.getContext("2d");
  ctx.font = FONT;
  const rowLabels = rows.map((r) => fit(ctx, r.name === r.id ? r.name : `${r.id} ${r.name}`, MAX_LABEL));
  const colLabels = columns.map((c) => fit(ctx, c.name, MAX_LABEL));
  const left = Math.ceil(Math.max(40, ...rowLabels.map((t) => ctx.measureText(t).width))) + 10;
  const colText = Math.max(30, ...colLabels.map((t) => ctx.measureText(t).width));
  const avail = Math.max(200, (container.clientWidth || 900) - left - 40);
  const cell = Math.max(16, Math.min(spec.cell || 46, Math.floor(avail / Math.max(nc, 1))));
  const slant = Math.SQRT1_2; // column labels at 45 degrees
  const top = Math.ceil(colText * slant + 24);
  const gridW = cell * nc, gridH = cell * nr;
  const axes = [spec.rowTitle && `rows: ${spec.rowTitle}`, spec.columnTitle && `columns: ${spec.columnTitle}`].filter(Boolean).join(" · ");
  const width = Math.ceil(Math.max(left + gridW + colText * slant + 10, ctx.measureText(axes).width + 12));
  const height = top + gridH + (spec.covered ? 34 : 18);
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * dpr); canvas.height = Math.round(height * dpr);
  canvas.style.width = `${width}px`; canvas.style.height = `${height}px`;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.font = FONT;
  ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, width, height);

  for (let i = 0; i < nr; i++) for (let j = 0; j < nc; j++) {
    const v = values[i * nc + j];
    const t = hi > lo ? (v - lo) / (hi - lo) : 0;
    ctx.fillStyle = Number.isFinite(v) ? colour(t) : "#eee";
    ctx.fillRect(left + j * cell, top + i * cell, cell, cell);
    if (cell >= 26) {
      ctx.fillStyle = t > 0.55 ? "#fff" : "#222";
      ctx.textAlign = "center"; ctx.textBaseline = "middle";
      ctx.fillText(formatValue(v, spec.kind), left + j * cell + cell / 2, top + i * cell + cell / 2, cell - 2);
    }
  }
  ctx.strokeStyle = "#ddd"; ctx.lineWidth = 1;
  ctx.strokeRect(left + 0.5, top + 0.5, gridW, gridH);
  ctx.strokeStyle = "#d62728"; ctx.lineWidth = 2.5;
  for (const key of matched) {
    const [i, j] = key.split(",").map(Number);
    ctx.strokeRect(left + j * cell + 1.5, top + i * cell + 1.5, cell - 3, cell - 3);
  }
  ctx.fillStyle = "#222"; ctx.textAlign = "right"; ctx.textBaseline = "middle";
  rowLabels.forEach((t, i) => ctx.fillText(t, left - 6, top + i * cell + cell / 2));
  ctx.textAlign = "left";
  colLabels.forEach((t, j) => {
    ctx.save();
    ctx.translate(left + j * cell + cell / 2, top - 6);
    ctx.rotate(-Math.PI / 4);
    ctx.fillStyle = spec.covered && !spec.covered[j] ? "#999" : "#222";
    ctx.fillText(t, 0, 0);
    ctx.restore();
  });
  if (spec.covered) {
    ctx.textAlign = "center"; ctx.textBaseline = "top";
    spec.covered.forEach((ok, j) => {
      ctx.fillStyle = ok ? "#2e7d32" : "#bbb";
      ctx.fillText(ok ? "✓" : "·", left + j * cell + cell / 2, top + gridH + 4);
    });
  }
  ctx.fillStyle = "#555"; ctx.textAlign = "left"; ctx.textBaseline = "top";
  ctx.fillText(axes, 4, height - 15);
  box.dataset.cell = String(cell); box.dataset.left = String(left); box.dataset.top = String(top);

  function onMove(event) {
    const rect = canvas.getBoundingClientRect();
    const x = event.clientX - rect.left, y = event.clientY - rect.top;
    const j = Math.floor((x - left) / cell), i = Math.floor((y - top) / cell);
    if (i < 0 || j < 0 || i >= nr || j >= nc) { card.hidden = true; return; }
    while (card.firstChild) card.removeChild(card.firstChild);
    const key = `${i},${j}`;
    card.append(node("div", "fmviz-heatmap-card-head", `${rows[i].name} × ${columns[j].name}`),
      node("div", "fmviz-heatmap-card-value", `${formatValue(values[i * nc + j], spec.kind)}${matched.has(key) ? " · matched" : ""}`));
    if (spec.notes && spec.notes[key]) card.append(node("div", "fmviz-heatmap-card-note", spec.notes[key]));
    const own = (spec.examples || {})[key];
    const shown = own && own.length ? own : (spec.rowExamples || {})[String(i)] || [];
    if (shown.length && shown !== own) card.append(node("div", "fmviz-heatmap-card-note", `examples of ${rows[i].name}:`));
    for (const e of shown) card.append(node("div", "fmviz-heatmap-card-example", `${e.id}: ${e.text}`));
    card.hidden = false;
    // Below the pointer when it fits inside the canvas, else above it (never clipped below).
    const tall = card.offsetHeight;
    card.style.left = `${Math.min(x + 14, Math.max(0, width - 300))}px`;
    card.style.top = `${y + 14 + tall <= height ? y + 14 : Math.max(Math.min(0, height - tall), y - tall - 8)}px`;
  }
  const onLeave = () => { card.hidden = true; };
  canvas.addEventListener("mousemove", onMove);
  canvas.addEventListener("mouseleave", onLeave);
  return {
    element: box,
    cellAt: (i, j) => ({ x: left + j * cell + cell / 2, y: top + i * cell + cell / 2 }),
    destroy() {
      canvas.removeEventListener("mousemove", onMove);
      canvas.removeEventListener("mouseleave", onLeave);
      box.remove();
    },
  };
}
