// fmviz embedding map: points drawn straight into canvas pixels (100,000 in a few ms),
// hover by a grid index, box and lasso selection synced as `selected_ids`, and
// `highlight_cluster` dimming every other cluster. Traits match fmviz/views/embedding_map.py.
import { decodeArray } from "../_shared/arrays.js";
import { h, button, clear, clusterColour } from "../_shared/dom.js";

const FADED = 0xffd4d4d4; // ABGR of a dimmed point
const GRID = 12; // hover grid cell, CSS pixels
const HOVER_RADIUS = 8;

function rgba(hex) {
  // "#rrggbb" -> ABGR uint32 for a little-endian Uint32Array over ImageData
  const v = parseInt(hex.slice(1), 16);
  return (0xff << 24) | ((v & 0xff) << 16) | (v & 0xff00) | ((v >> 16) & 0xff);
}

function pointInPolygon(x, y, poly) {
  let inside = false;
  for (let i = 0, j = poly.length - 2; i < poly.length; j = i, i += 2) {
    const xi = poly[i], yi = poly[i + 1], xj = poly[j], yj = poly[j + 1];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function render({ model, el }) {
  const root = h("div", "fmviz-map");
  const toolbar = h("div", "fmviz-map-toolbar");
  const title = h("div", "fmviz-map-title");
  const stage = h("div", "fmviz-map-stage");
  const canvas = h("canvas", "fmviz-map-canvas");
  const overlay = h("canvas", "fmviz-map-overlay");
  const tooltip = h("div", "fmviz-map-tooltip");
  const legend = h("div", "fmviz-map-legend");
  const status = h("span", "fmviz-map-status");
  stage.append(canvas, overlay, tooltip);
  root.append(title, toolbar, stage, legend);
  el.append(root);

  let mode = "lasso";
  const modeButtons = {};
  for (const [name, label, hint] of [
    ["lasso", "Lasso", "drag a free shape to select"],
    ["box", "Box", "drag a rectangle to select"],
    ["pan", "Pan", "drag to move; the wheel zooms"],
  ]) {
    modeButtons[name] = button(label, hint, () => setMode(name));
    toolbar.append(modeButtons[name]);
  }
  toolbar.append(
    button("Reset view", "fit all points", () => { view = null; draw(); }),
    button("Clear selection", "select nothing", () => setSelection(new Uint8Array(n))),
    status,
  );
  function setMode(name) {
    mode = name;
    for (const [key, node] of Object.entries(modeButtons)) node.classList.toggle("fmviz-active", key === name);
  }
  setMode("lasso");

  // ------------------------------------------------------------------ data
  let x, y, ci, n, ids, texts, clusters, colours, fadedIndex, selected, idIndex;
  function load() {
    x = decodeArray(model.get("x")).data;
    y = decodeArray(model.get("y")).data;
    ci = decodeArray(model.get("cluster_index")).data;
    n = Math.min(x.length, y.length, ci.length);
    ids = model.get("episode_ids") || [];
    texts = model.get("texts") || [];
    clusters = (model.get("clusters") || []).filter((c) => c.id !== "outlier");
    colours = new Uint32Array(clusters.length + 1); // last slot: outliers
    clusters.forEach((c, i) => { colours[i] = rgba(clusterColour(i, false)); });
    colours[clusters.length] = rgba(clusterColour(-1, true));
    selected = new Uint8Array(n);
    idIndex = null;
    title.textContent = model.get("title") || "";
    title.hidden = !model.get("title");
    stage.style.height = `${model.get("height") || 420}px`;
    buildLegend();
    readSelection();
  }
  function buildLegend() {
    clear(legend);
    for (const c of model.get("clusters") || []) {
      const item = h("button", "fmviz-map-legend-item");
      item.type = "button";
      const swatch = h("span", "fmviz-map-swatch");
      const index = clusters.findIndex((d) => d.id === c.id);
      swatch.style.background = clusterColour(index, c.id === "outlier");
      item.append(swatch, h("span", "", `${c.name} (${c.count})`));
      item.title = `highlight ${c.id}; click again to clear`;
      item.dataset.cluster = c.id;
      item.addEventListener("click", () => {
        model.set("highlight_cluster", model.get("highlight_cluster") === c.id ? "" : c.id);
        model.save_changes();
      });
      legend.append(item);
    }
    markLegend();
  }
  function markLegend() {
    const active = model.get("highlight_cluster");
    for (const item of legend.children) item.classList.toggle("fmviz-active", item.dataset.cluster === active);
  }
  function readSelection() {
    const wanted = model.get("selected_ids") || [];
    selected = new Uint8Array(n);
    if (wanted.length) {
      if (!idIndex) idIndex = new Map(ids.map((id, i) => [id, i]));
      for (const id of wanted) { const i = idIndex.get(id); if (i !== undefined) selected[i] = 1; }
    }
    status.textContent = `${wanted.length} of ${n} selected`;
  }

  // ------------------------------------------------------------------ drawing
  let width = 0, heightPx = 0, dpr = 1, view = null, px = null, py = null, grid = null;
  function fitView() {
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (let i = 0; i < n; i++) {
      if (x[i] < x0) x0 = x[i]; if (x[i] > x1) x1 = x[i];
      if (y[i] < y0) y0 = y[i]; if (y[i] > y1) y1 = y[i];
    }
    if (!n) { x0 = 0; x1 = 1; y0 = 0; y1 = 1; }
    const pad = 12, sx = (width - 2 * pad) / Math.max(x1 - x0, 1e-9), sy = (heightPx - 2 * pad) / Math.max(y1 - y0, 1e-9);
    const s = Math.min(sx, sy);
    return { s, tx: pad + (width - 2 * pad - s * (x1 - x0)) / 2 - s * x0, ty: heightPx - pad - (heightPx - 2 * pad - s * (y1 - y0)) / 2 + s * y0 };
  }
  let image = null, pixels = null;
  function draw() {
    if (!width) return;
    const t0 = performance.now();
    if (!view) view = fitView();
    const w = Math.round(width * dpr), hgt = Math.round(heightPx * dpr);
    const ctx = canvas.getContext("2d");
    if (!image || image.width !== w || image.height !== hgt) {
      image = ctx.createImageData(w, hgt); // reused between draws: no 2 MB allocation per frame
      pixels = new Uint32Array(image.data.buffer);
    } else pixels.fill(0);
    if (!px || px.length !== n) { px = new Float32Array(n); py = new Float32Array(n); }
    const highlight = model.get("highlight_cluster");
    const hi = highlight === "outlier" ? clusters.length : clusters.findIndex((c) => c.id === highlight);
    let anySelected = false;
    for (let i = 0; i < n; i++) if (selected[i]) { anySelected = true; break; }
    const r = Math.max(1, Math.round(((model.get("point_size") || 3) * dpr) / 2));
    const { s, tx, ty } = view;
    const out = clusters.length;
    // A selection wins over a highlight: selected points always show in full colour.
    const dim = (i) => (anySelected ? !selected[i] : hi >= 0 && (ci[i] < 0 ? out : ci[i]) !== hi);
    for (let i = 0; i < n; i++) {
      px[i] = tx + s * x[i]; py[i] = ty - s * y[i];
      if (dim(i)) stamp(w, hgt, px[i] * dpr, py[i] * dpr, r, FADED);
    }
    for (let i = 0; i < n; i++) {
      if (dim(i)) continue;
      // Selected points keep their size: the dimmed rest marks the selection (and a lasso over
      // 60,000 points would otherwise paint 2.5 times the pixels).
      stamp(w, hgt, px[i] * dpr, py[i] * dpr, r, colours[ci[i] < 0 ? out : ci[i]]);
    }
    ctx.putImageData(image, 0, 0);
    grid = null;
    root.dataset.drawMs = (performance.now() - t0).toFixed(2);
    root.dataset.drawn = String(Number(root.dataset.drawn || 0) + 1);
    if (!root.dataset.firstDrawAt) root.dataset.firstDrawAt = performance.now().toFixed(1); // for benchmarks
  }
  function stamp(w, hgt, cx, cy, r, colour) {
    const x = Math.round(cx), y = Math.round(cy);
    const x0 = Math.max(0, x - r + 1), x1 = Math.min(w - 1, x + r - 1);
    const y0 = Math.max(0, y - r + 1), y1 = Math.min(hgt - 1, y + r - 1);
    for (let yy = y0; yy <= y1; yy++) {
      const row = yy * w;
      for (let xx = x0; xx <= x1; xx++) pixels[row + xx] = colour;
    }
  }
  function resize() {
    const newWidth = Math.max(200, stage.clientWidth || 640);
    const newHeight = stage.clientHeight || model.get("height") || 420;
    if (newWidth === width && newHeight === heightPx) return;
    width = newWidth; heightPx = newHeight; dpr = window.devicePixelRatio || 1;
    for (const c of [canvas, overlay]) {
      c.width = Math.round(width * dpr); c.height = Math.round(heightPx * dpr);
      c.style.width = `${width}px`; c.style.height = `${heightPx}px`;
    }
    view = null;
    draw();
  }

  // ------------------------------------------------------------------ hover
  function buildGrid() {
    const cols = Math.ceil(width / GRID) + 1, rows = Math.ceil(heightPx / GRID) + 1;
    const start = new Int32Array(cols * rows + 1), cell = new Int32Array(n), order = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const c = Math.floor(px[i] / GRID), r = Math.floor(py[i] / GRID);
      cell[i] = c >= 0 && r >= 0 && c < cols && r < rows ? r * cols + c : -1;
      if (cell[i] >= 0) start[cell[i] + 1]++;
    }
    for (let k = 1; k < start.length; k++) start[k] += start[k - 1];
    const fill = start.slice();
    for (let i = 0; i < n; i++) if (cell[i] >= 0) order[fill[cell[i]]++] = i;
    grid = { cols, rows, start, order };
  }
  function nearest(mx, my) {
    if (!px) return -1;
    if (!grid) buildGrid();
    const { cols, rows, start, order } = grid;
    let best = -1, bestD = HOVER_RADIUS * HOVER_RADIUS;
    const c0 = Math.floor(mx / GRID), r0 = Math.floor(my / GRID);
    for (let r = r0 - 1; r <= r0 + 1; r++) for (let c = c0 - 1; c <= c0 + 1; c++) {
      if (r < 0 || c < 0 || r >= rows || c >= cols) continue;
      for (let k = start[r * cols + c]; k < start[r * cols + c + 1]; k++) {
        const i = order[k], d = (px[i] - mx) ** 2 + (py[i] - my) ** 2;
        if (d <= bestD) { bestD = d; best = i; }
      }
    }
    return best;
  }
  function showTooltip(i, mx, my) {
    if (i < 0) { tooltip.hidden = true; return; }
    const k = ci[i];
    const name = k >= 0 && clusters[k] ? clusters[k].name : "Outlier";
    clear(tooltip);
    tooltip.append(h("div", "fmviz-map-tooltip-head", `${ids[i] ?? i} · ${name}`), h("div", "fmviz-map-tooltip-text", texts[i] || ""));
    tooltip.hidden = false;
    tooltip.style.left = `${Math.min(mx + 12, Math.max(0, width - 280))}px`;
    tooltip.style.top = `${my + 12 > heightPx - 80 ? my - 90 : my + 12}px`;
  }

  // ------------------------------------------------------------------ selection
  let settingSelection = false; // our own change event needs no second pass over the ids
  function setSelection(mask) {
    selected = mask;
    const chosen = [];
    for (let i = 0; i < n; i++) if (mask[i]) chosen.push(ids[i]);
    settingSelection = true;
    try {
      model.set("selected_ids", chosen);
      model.save_changes();
    } finally {
      settingSelection = false;
    }
    status.textContent = `${chosen.length} of ${n} selected`;
    draw();
  }
  function selectPolygon(poly) {
    const t0 = performance.now();
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (let i = 0; i < poly.length; i += 2) {
      x0 = Math.min(x0, poly[i]); x1 = Math.max(x1, poly[i]);
      y0 = Math.min(y0, poly[i + 1]); y1 = Math.max(y1, poly[i + 1]);
    }
    const mask = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const a = px[i], b = py[i];
      if (a >= x0 && a <= x1 && b >= y0 && b <= y1 && pointInPolygon(a, b, poly)) mask[i] = 1;
    }
    setSelection(mask);
    root.dataset.lassoMs = (performance.now() - t0).toFixed(2);
  }

  let drag = null;
  const local = (event) => {
    const rect = overlay.getBoundingClientRect();
    return [event.clientX - rect.left, event.clientY - rect.top];
  };
  function drawOverlay() {
    const ctx = overlay.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, heightPx);
    if (!drag || drag.mode === "pan") return;
    ctx.strokeStyle = "#333"; ctx.fillStyle = "rgba(60, 60, 60, 0.08)"; ctx.setLineDash([4, 3]);
    ctx.beginPath();
    const p = drag.mode === "box" ? boxPolygon(drag) : drag.points;
    for (let i = 0; i < p.length; i += 2) (i ? ctx.lineTo : ctx.moveTo).call(ctx, p[i], p[i + 1]);
    ctx.closePath(); ctx.fill(); ctx.stroke();
  }
  const boxPolygon = (d) => [d.sx, d.sy, d.ex, d.sy, d.ex, d.ey, d.sx, d.ey];
  const onDown = (event) => {
    const [mx, my] = local(event);
    overlay.setPointerCapture?.(event.pointerId);
    drag = { mode, sx: mx, sy: my, ex: mx, ey: my, points: [mx, my], view: { ...view } };
    tooltip.hidden = true;
  };
  const onMove = (event) => {
    const [mx, my] = local(event);
    if (!drag) { showTooltip(nearest(mx, my), mx, my); return; }
    drag.ex = mx; drag.ey = my;
    if (drag.mode === "pan") {
      view = { ...drag.view, tx: drag.view.tx + mx - drag.sx, ty: drag.view.ty + my - drag.sy };
      draw();
    } else if (drag.mode === "lasso") {
      const p = drag.points;
      if ((p[p.length - 2] - mx) ** 2 + (p[p.length - 1] - my) ** 2 >= 4) p.push(mx, my);
    }
    drawOverlay();
  };
  const onUp = () => {
    if (!drag) return;
    const d = drag; drag = null; drawOverlay();
    if (d.mode === "box" && Math.abs(d.ex - d.sx) > 2 && Math.abs(d.ey - d.sy) > 2) selectPolygon(boxPolygon(d));
    else if (d.mode === "lasso" && d.points.length >= 6) selectPolygon(d.points);
  };
  const onWheel = (event) => {
    event.preventDefault();
    const [mx, my] = local(event);
    const f = Math.exp(-event.deltaY * 0.0015);
    view = { s: view.s * f, tx: mx - (mx - view.tx) * f, ty: my - (my - view.ty) * f };
    draw();
  };
  overlay.addEventListener("pointerdown", onDown);
  overlay.addEventListener("pointermove", onMove);
  overlay.addEventListener("pointerup", onUp);
  overlay.addEventListener("pointerleave", () => { if (!drag) tooltip.hidden = true; });
  overlay.addEventListener("wheel", onWheel, { passive: false });

  // ------------------------------------------------------------------ model
  const reload = () => { load(); view = null; draw(); };
  const onSelection = () => { if (!settingSelection) { readSelection(); draw(); } };
  const onHighlight = () => { markLegend(); draw(); };
  const dataTraits = ["x", "y", "cluster_index", "episode_ids", "texts", "clusters", "height", "title", "point_size"];
  for (const trait of dataTraits) model.on(`change:${trait}`, reload);
  model.on("change:selected_ids", onSelection);
  model.on("change:highlight_cluster", onHighlight);
  load();
  tooltip.hidden = true;
  const observer = new ResizeObserver(() => resize());
  observer.observe(stage);
  requestAnimationFrame(resize);

  return () => {
    observer.disconnect();
    for (const trait of dataTraits) model.off(`change:${trait}`, reload);
    model.off("change:selected_ids", onSelection);
    model.off("change:highlight_cluster", onHighlight);
  };
}

export default { render };
