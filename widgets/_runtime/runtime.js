// fmviz export runtime: renders saved widget state in a static HTML page, with no kernel
// and no network. It implements the part of the anywidget model API fmviz widgets use
// (get / set / on / off / save_changes / send / widget_manager.get_model) over the state in
// the page's script tags of type application/vnd.jupyter.widget-state+json, imports each
// widget's ES module (saved in its `_esm` trait) from a blob URL, and mounts a view after
// every script tag of type application/vnd.jupyter.widget-view+json. It also runs the browser side of
// ipywidgets' jslink / jsdlink (LinkModel, DirectionalLinkModel), so linked views stay
// linked, and lays out HBox / VBox / Box containers. Untrusted text only reaches the page
// through the widgets themselves (textContent) or as text here.

const STATE_TYPE = "application/vnd.jupyter.widget-state+json";
const VIEW_TYPE = "application/vnd.jupyter.widget-view+json";
const REF = "IPY_MODEL_";
const BOXES = { HBoxModel: "row", VBoxModel: "column", BoxModel: "row", GridBoxModel: "row" };

function decodeBase64(text) {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return new DataView(bytes.buffer);
}

function placeBuffers(state, buffers) {
  for (const { path, data } of buffers || []) {
    let target = state;
    for (const key of path.slice(0, -1)) target = target[key];
    target[path[path.length - 1]] = decodeBase64(data);
  }
  return state;
}

class Model {
  constructor(manager, id, spec) {
    this.manager = manager;
    this.model_id = id;
    this.name = spec.model_name;
    this.module = spec.model_module;
    // The spec was parsed from the page for this manager alone, so its state is used in place
    // (a copy of 100,000 hover texts costs more than the rest of the first render).
    this.state = placeBuffers(spec.state || {}, spec.buffers);
    this.listeners = new Map();
    this.widget_manager = { get_model: (ref) => manager.getModel(ref) };
  }
  get(key) {
    return this.state[key];
  }
  set(key, value) {
    if (typeof key === "object") {
      for (const [k, v] of Object.entries(key)) this.set(k, v);
      return;
    }
    if (this.state[key] === value) return;
    this.state[key] = value;
    this.emit(`change:${key}`, value);
    this.emit("change", value);
  }
  emit(event, value) {
    for (const [cb, context] of this.listeners.get(event) || []) {
      try {
        cb.call(context, { name: event, new: value });
      } catch (error) {
        console.error(`fmviz: listener of ${event} failed`, error);
      }
    }
  }
  on(event, cb, context) {
    for (const name of String(event).split(/\s+/)) {
      if (!this.listeners.has(name)) this.listeners.set(name, new Map());
      this.listeners.get(name).set(cb, context);
    }
  }
  off(event, cb) {
    if (!event) return this.listeners.clear();
    for (const name of String(event).split(/\s+/)) {
      if (cb) this.listeners.get(name)?.delete(cb);
      else this.listeners.delete(name);
    }
  }
  save_changes() {} // no kernel: changes stay in the page
  send() {}
}

class Manager {
  constructor() {
    this.specs = new Map();
    this.models = new Map();
    this.modules = new Map();
    this.initialized = new Map();
    this.styles = new Set();
  }
  addState(state) {
    for (const [id, spec] of Object.entries(state || {})) this.specs.set(id, spec);
  }
  model(ref) {
    const id = String(ref).startsWith(REF) ? String(ref).slice(REF.length) : String(ref);
    if (!this.models.has(id)) {
      const spec = this.specs.get(id);
      if (!spec) return null;
      this.models.set(id, new Model(this, id, spec));
    }
    return this.models.get(id);
  }
  async getModel(ref) {
    return this.model(ref) ?? undefined;
  }
  link() {
    for (const [id, spec] of this.specs) {
      if (spec.model_name !== "LinkModel" && spec.model_name !== "DirectionalLinkModel") continue;
      const { source, target } = spec.state || {};
      if (!source || !target) continue;
      const [from, fromKey] = [this.model(source[0]), source[1]];
      const [to, toKey] = [this.model(target[0]), target[1]];
      if (!from || !to) {
        console.warn(`fmviz: link ${id} refers to a widget that was not saved`);
        continue;
      }
      const follow = (a, aKey, b, bKey) => a.on(`change:${aKey}`, () => b.set(bKey, a.get(aKey)));
      follow(from, fromKey, to, toKey);
      if (spec.model_name === "LinkModel") follow(to, toKey, from, fromKey);
    }
  }
  async widgetModule(model) {
    const esm = model.get("_esm") || "";
    if (!this.modules.has(esm)) {
      const url = URL.createObjectURL(new Blob([esm], { type: "text/javascript" }));
      this.modules.set(esm, import(url).then((m) => (typeof m.default === "function" ? m.default() : m.default ?? m)));
    }
    return this.modules.get(esm);
  }
  addStyle(model) {
    const css = model.get("_css");
    const key = model.get("_anywidget_id") || css;
    if (!css || this.styles.has(key)) return;
    this.styles.add(key);
    const style = document.createElement("style");
    style.textContent = css;
    document.head.append(style);
  }
  async render(ref, el) {
    const model = this.model(ref);
    if (!model) {
      el.textContent = "(widget state was not saved)";
      return;
    }
    if (model.module === "anywidget") return this.renderAny(model, el);
    if (BOXES[model.name]) return this.renderBox(model, el);
    if (model.name === "LabelModel" || model.name === "HTMLModel" || model.name === "HTMLMathModel") {
      el.className = "fmviz-runtime-text";
      el.textContent = model.get("value") ?? "";
      return;
    }
    el.className = "fmviz-runtime-unsupported";
    el.textContent = `(${model.name} has no offline view)`;
  }
  async renderAny(model, el) {
    const widget = await this.widgetModule(model);
    this.addStyle(model);
    if (widget.initialize && !this.initialized.has(model)) {
      this.initialized.set(model, widget.initialize({ model }));
    }
    await this.initialized.get(model);
    if (widget.render) await widget.render({ model, el });
  }
  async renderBox(model, el) {
    el.className = "fmviz-runtime-box";
    el.style.display = "flex";
    el.style.flexDirection = BOXES[model.name];
    el.style.gap = "8px";
    el.style.flexWrap = model.name === "HBoxModel" ? "wrap" : "nowrap";
    for (const child of model.get("children") || []) {
      const slot = document.createElement("div");
      slot.style.minWidth = "0";
      slot.style.flex = "1 1 0";
      el.append(slot);
      await this.render(child, slot);
    }
  }
}

async function main() {
  if (window.fmvizRuntime) return;
  const manager = new Manager();
  window.fmvizRuntime = manager;
  for (const node of document.querySelectorAll(`script[type="${STATE_TYPE}"]`)) {
    manager.addState(JSON.parse(node.textContent).state);
  }
  manager.link();
  let rendered = 0;
  for (const node of document.querySelectorAll(`script[type="${VIEW_TYPE}"]`)) {
    const view = JSON.parse(node.textContent);
    const el = document.createElement("div");
    el.className = "fmviz-runtime-view";
    node.after(el);
    try {
      await manager.render(view.model_id, el);
      rendered += 1;
    } catch (error) {
      el.textContent = `(this widget could not render: ${error})`;
      console.error("fmviz: widget render failed", error);
    }
  }
  document.body.dataset.fmvizWidgets = String(rendered);
}

main();
