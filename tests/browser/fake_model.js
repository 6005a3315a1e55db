// A small stand-in for an anywidget model, for testing one widget's ES module in a page.
// Tests read `window.fmvizModel` (get / set / saves / changes) to see what the widget wrote.
export function fakeModel(spec) {
  const state = spec.state;
  for (const { path, data } of spec.buffers || []) {
    const raw = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
    let target = state;
    for (const key of path.slice(0, -1)) target = target[key];
    target[path[path.length - 1]] = new DataView(raw.buffer);
  }
  const listeners = new Map();
  const model = {
    saves: 0,
    changes: [],
    get: (key) => state[key],
    set(key, value) {
      state[key] = value;
      model.changes.push(key);
      for (const cb of listeners.get(`change:${key}`) || []) cb({ new: value });
    },
    on(event, cb) {
      if (!listeners.has(event)) listeners.set(event, new Set());
      listeners.get(event).add(cb);
    },
    off(event, cb) {
      listeners.get(event)?.delete(cb);
    },
    save_changes() {
      model.saves += 1;
    },
    send() {},
    widget_manager: { get_model: async () => undefined },
  };
  return model;
}
