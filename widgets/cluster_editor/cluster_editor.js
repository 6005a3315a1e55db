// fmviz cluster editor. The browser never edits the cluster set itself: every action writes
// one request into the `request` trait ({id, action, op?...}); Python applies it through the
// run's operation log and syncs back clusters, members, outliers, log and a one-line `reply`.
// With no kernel (a saved notebook, an exported report) nothing replies: the view says it is
// read-only. Traits match fmviz/views/cluster_editor.py. Model text goes into textContent only.
import { h, button, clear, clusterColour } from "../_shared/dom.js";

const HELLO_TIMEOUT_MS = 2500;

function render({ model, el }) {
  const root = h("div", "fmviz-editor");
  const head = h("div", "fmviz-editor-head");
  const title = h("div", "fmviz-editor-title");
  const banner = h("div", "fmviz-editor-banner");
  const status = h("div", "fmviz-editor-status");
  const progress = h("progress", "fmviz-editor-progress");
  const tools = h("div", "fmviz-editor-tools");
  const body = h("div", "fmviz-editor-body");
  const list = h("div", "fmviz-editor-clusters");
  const side = h("div", "fmviz-editor-side");
  const queue = h("div", "fmviz-editor-queue");
  const logBox = h("details", "fmviz-editor-log");
  head.append(title, tools);
  body.append(list, side);
  side.append(queue, logBox);
  root.append(head, banner, status, progress, body);
  el.append(root);

  // ------------------------------------------------------------------ requests
  let nextId = 1, live = false, waiting = null;
  const checked = new Set(); // cluster ids ticked for a merge
  const picked = new Map(); // cluster id -> Set of member ids ticked for a move / split
  const open = new Set(); // cluster ids whose member list is shown
  function send(action, extra = {}) {
    const last = (model.get("reply") || {}).id || 0;
    const id = Math.max(nextId, (typeof last === "number" ? last : 0) + 1);
    nextId = id + 1;
    waiting = id;
    model.set("request", { id, action, ...extra });
    model.save_changes();
    if (action !== "hello") say(live ? "working…" : "request written; no Python kernel is connected to apply it", false);
    return id;
  }
  const apply = (op) => send("apply", { op });
  function say(text, isError) {
    status.textContent = text || "";
    status.classList.toggle("fmviz-editor-error", Boolean(isError));
  }
  function onReply() {
    const reply = model.get("reply") || {};
    if (reply.id === undefined || reply.id === null) return;
    if (reply.id === waiting || !live) { live = true; banner.hidden = true; }
    if (reply.action !== "hello") say(reply.message, !reply.ok);
    if (reply.ok && reply.action === "apply") { checked.clear(); picked.clear(); drawClusters(); }
    drawTools();
  }
  const helloTimer = setTimeout(() => {
    if (live) return;
    banner.textContent = "Read-only: no Python kernel is connected (a saved notebook or an exported report). " +
      "This is the edited set as it was saved; re-run the cell to edit it.";
    banner.hidden = false;
  }, HELLO_TIMEOUT_MS);
  banner.hidden = true;

  // ------------------------------------------------------------------ toolbar
  const mergeName = h("input", "fmviz-editor-input");
  mergeName.placeholder = "merged name (optional)";
  function drawTools() {
    clear(tools);
    const log = model.get("log") || {};
    const pending = model.get("pending_count") || 0;
    const undo = button("Undo", "take back the last edit", () => send("undo"));
    undo.disabled = !(log.applied || []).length;
    const redo = button("Redo", "apply the last undone edit again", () => send("redo"));
    redo.disabled = !(log.undone || []).length;
    const assign = button(`Assign (${pending})`, "re-assign only the episodes the edits touched", () => send("assign"));
    assign.disabled = !pending;
    const merge = button(`Merge ${checked.size} selected`, "merge the ticked clusters into one", () => {
      const op = { kind: "merge", clusters: [...checked] };
      if (mergeName.value.trim()) op.name = mergeName.value.trim();
      apply(op);
      mergeName.value = "";
    });
    merge.disabled = checked.size < 2;
    merge.classList.add("fmviz-editor-merge");
    const add = button("Add cluster", "a new failure mode from a name and a description", addCluster);
    tools.append(undo, redo, assign, merge, mergeName, add);
  }
  function addCluster() { // an inline form: widgets open no dialogs
    const form = h("div", "fmviz-editor-add");
    const n = h("input", "fmviz-editor-input"); n.placeholder = "name";
    const d = h("input", "fmviz-editor-input"); d.placeholder = "description";
    form.append(n, d, button("Add", "add this cluster", () => {
      if (n.value.trim()) apply({ kind: "add", name: n.value.trim(), description: d.value.trim() });
      form.remove();
    }), button("Cancel", "", () => form.remove()));
    list.prepend(form);
    n.focus();
  }

  // ------------------------------------------------------------------ clusters
  function field(tag, value, placeholder, onCommit) {
    const node = h(tag, `fmviz-editor-field fmviz-editor-${tag}`);
    node.value = value || "";
    node.placeholder = placeholder;
    node.addEventListener("change", () => { if (node.value !== (value || "")) onCommit(node.value); });
    node.addEventListener("click", (e) => e.stopPropagation());
    return node;
  }
  function targets(exclude) {
    const select = h("select", "fmviz-editor-select");
    select.append(new Option("move to…", ""));
    for (const c of model.get("clusters") || []) if (c.id !== exclude) select.append(new Option(`${c.id}: ${c.name}`, c.id));
    select.addEventListener("click", (e) => e.stopPropagation());
    return select;
  }
  function drawClusters() {
    clear(list);
    const clusters = model.get("clusters") || [];
    const selected = model.get("selected_cluster");
    clusters.forEach((c, index) => {
      const card = h("div", "fmviz-editor-card");
      card.dataset.cluster = c.id;
      card.classList.toggle("fmviz-active", c.id === selected);
      card.addEventListener("click", () => {
        model.set("selected_cluster", model.get("selected_cluster") === c.id ? "" : c.id);
        model.save_changes();
      });
      const top = h("div", "fmviz-editor-card-top");
      const tick = h("input", "fmviz-editor-tick");
      tick.type = "checkbox";
      tick.checked = checked.has(c.id);
      tick.title = "tick two or more to merge";
      tick.addEventListener("click", (e) => e.stopPropagation());
      tick.addEventListener("change", () => { tick.checked ? checked.add(c.id) : checked.delete(c.id); drawTools(); });
      const swatch = h("span", "fmviz-editor-swatch");
      swatch.style.background = clusterColour(index, false);
      const counts = h("span", "fmviz-editor-count", `${c.count} episode${c.count === 1 ? "" : "s"}` + (c.pending ? ` · ${c.pending} pending` : ""));
      top.append(tick, swatch, h("span", "fmviz-editor-id", c.id),
        field("input", c.name, "name", (v) => apply({ kind: "update", cluster: c.id, name: v })), counts);
      const description = field("textarea", c.description, "description",
        (v) => apply({ kind: "update", cluster: c.id, description: v }));
      const keywords = field("input", (c.keywords || []).join(", "), "keywords, comma separated",
        (v) => apply({ kind: "update", cluster: c.id, keywords: v.split(",").map((k) => k.trim()).filter(Boolean) }));
      const examples = h("ul", "fmviz-editor-examples");
      for (const e of c.examples || []) examples.append(h("li", "", `${e.id}: ${e.text}`));
      const actions = h("div", "fmviz-editor-actions");
      const parts = h("input", "fmviz-editor-n");
      parts.type = "number"; parts.min = "2"; parts.max = "12"; parts.value = "2";
      parts.addEventListener("click", (e) => e.stopPropagation());
      actions.append(
        button(open.has(c.id) ? "Hide members" : "Members", "list members to move or split off", (e) => {
          e.stopPropagation(); open.has(c.id) ? open.delete(c.id) : open.add(c.id); drawClusters();
        }),
        button("Split by engine into", "ask the engine to propose a split", (e) => {
          e.stopPropagation(); send("propose_split", { cluster: c.id, n: Number(parts.value) });
        }),
        parts,
        button("Delete", "remove this cluster; its members are re-assigned", (e) => {
          e.stopPropagation(); apply({ kind: "delete", cluster: c.id });
        }),
      );
      card.append(top, description, keywords, examples, actions);
      if (open.has(c.id)) card.append(memberPanel(c));
      list.append(card);
    });
    drawProposal();
  }
  function memberPanel(c) {
    const panel = h("div", "fmviz-editor-members");
    panel.addEventListener("click", (e) => e.stopPropagation());
    const members = (model.get("members") || {})[c.id] || [];
    const present = new Set(members.map((m) => m.id));
    const chosen = new Set([...(picked.get(c.id) || [])].filter((id) => present.has(id)));
    picked.set(c.id, chosen);
    const rows = h("div", "fmviz-editor-member-rows");
    for (const m of members) {
      const row = h("label", "fmviz-editor-member");
      const tick = h("input", "");
      tick.type = "checkbox"; tick.checked = chosen.has(m.id); tick.value = m.id;
      tick.addEventListener("change", () => { tick.checked ? chosen.add(m.id) : chosen.delete(m.id); });
      row.append(tick, h("span", "fmviz-editor-member-id", m.id), h("span", "", m.text));
      if (m.pinned) row.append(h("span", "fmviz-editor-tag", "pinned"));
      if (m.pending) row.append(h("span", "fmviz-editor-tag", "pending"));
      rows.append(row);
    }
    if (members.length < c.count) rows.append(h("div", "fmviz-editor-note", `showing ${members.length} of ${c.count}`));
    const to = targets(c.id);
    const ids = () => [...chosen];
    panel.append(rows, h("div", "fmviz-editor-actions"));
    panel.lastChild.append(
      to,
      button("Move", "move the ticked members to the chosen cluster", () => {
        if (ids().length && to.value) apply({ kind: "move", episodes: ids(), to: to.value });
      }),
      button("Split off", "the ticked members become a new cluster", () => {
        const rest = members.map((m) => m.id).filter((id) => !chosen.has(id));
        if (ids().length) apply({ kind: "split", cluster: c.id, groups: [rest, ids()] });
      }),
      button("Mark outlier", "the ticked members fit no cluster", () => {
        if (ids().length) apply({ kind: "outlier", episodes: ids() });
      }),
    );
    return panel;
  }
  function drawProposal() {
    const proposal = model.get("proposal") || {};
    if (!proposal.op || !(model.get("clusters") || []).some((c) => c.id === proposal.cluster)) return;
    const box = h("div", "fmviz-editor-proposal");
    box.append(h("div", "fmviz-editor-proposal-head", `Proposed split of ${proposal.cluster}`));
    for (const part of proposal.parts || []) {
      const p = h("div", "fmviz-editor-part");
      p.append(h("strong", "", `${part.name} (${part.size})`));
      for (const e of part.examples || []) p.append(h("div", "fmviz-editor-part-example", `${e.id}: ${e.text}`));
      box.append(p);
    }
    box.append(
      button("Apply split", "apply the proposed split (logged, undoable)", () => {
        apply(proposal.op); model.set("proposal", {}); model.save_changes();
      }),
      button("Dismiss", "", () => { model.set("proposal", {}); model.save_changes(); }),
    );
    const card = list.querySelector(`[data-cluster="${CSS.escape(proposal.cluster)}"]`);
    (card || list).append(box);
  }

  // ------------------------------------------------------------------ outliers and log
  function drawQueue() {
    clear(queue);
    const outliers = model.get("outliers") || [];
    const total = model.get("outlier_total") || 0;
    const open = outliers.filter((o) => !o.pinned).length;
    queue.append(h("div", "fmviz-editor-section", `Outlier queue: ${open} to triage, ${outliers.length - open} confirmed`));
    if (outliers.length < total) queue.append(h("div", "fmviz-editor-note", `showing ${outliers.length} of ${total}`));
    for (const o of outliers) {
      const row = h("div", "fmviz-editor-outlier");
      row.dataset.episode = o.id;
      row.classList.toggle("fmviz-editor-confirmed", Boolean(o.pinned));
      const to = targets("");
      row.append(h("div", "fmviz-editor-outlier-text", `${o.id}: ${o.text}`), to,
        button("Move", "assign this episode to the chosen cluster", () => {
          if (to.value) apply({ kind: "move", episodes: [o.id], to: to.value });
        }));
      if (o.pinned) row.append(h("span", "fmviz-editor-tag", "confirmed outlier"));
      else row.append(button("Confirm outlier", "keep it an outlier (re-assignment leaves it)", () =>
        apply({ kind: "outlier", episodes: [o.id] })));
      if (o.pending) row.append(h("span", "fmviz-editor-tag", "pending"));
      queue.append(row);
    }
  }
  function drawLog() {
    clear(logBox);
    const log = model.get("log") || {};
    const applied = log.applied || [], undone = log.undone || [];
    logBox.append(h("summary", "", `Edit log (${applied.length} applied, ${undone.length} to redo) · version ${model.get("version") || ""}`));
    const items = h("ol", "fmviz-editor-log-list");
    for (const e of applied) items.append(h("li", "", `${e.summary}` + (e.touched ? ` (${e.touched} touched)` : "")));
    for (const e of undone) items.append(h("li", "fmviz-editor-undone", `undone: ${e.summary}`));
    logBox.append(items);
  }
  function drawProgress() {
    const p = model.get("progress") || {};
    progress.hidden = !p.running && !(p.total && p.done < p.total);
    progress.max = Math.max(1, p.total || 0);
    progress.value = p.done || 0;
    progress.title = `${p.done || 0} of ${p.total || 0} re-assigned`;
    if (p.running) say(`re-assigning the touched episodes: ${p.done || 0} of ${p.total || 0}`, false);
  }
  function drawAll() {
    title.textContent = model.get("title") || "";
    drawTools(); drawClusters(); drawQueue(); drawLog(); drawProgress();
  }

  const traits = ["clusters", "members", "outliers", "outlier_total", "log", "pending_count", "version", "proposal", "title", "selected_cluster"];
  for (const t of traits) model.on(`change:${t}`, drawAll);
  model.on("change:reply", onReply);
  model.on("change:progress", drawProgress);
  drawAll();
  send("hello");
  return () => {
    clearTimeout(helloTimer);
    for (const t of traits) model.off(`change:${t}`, drawAll);
    model.off("change:reply", onReply);
    model.off("change:progress", drawProgress);
  };
}

export default { render };
