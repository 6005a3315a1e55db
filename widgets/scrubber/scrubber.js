// fmviz clip scrubber: an episode's tail frames with a slider and play/pause that run in
// the browser, beside its task context, trajectory, failure reason, cluster and rationale.
// Traits match fmviz/views/scrubber.py. All text goes through textContent.
import { bytesToUrl } from "../_shared/arrays.js";
import { h, button, clear, clusterColour } from "../_shared/dom.js";

const LIST_LIMIT = 500; // list rows drawn at once; the counter still counts them all

function formatTime(seconds) {
  const sign = seconds < -0.004 ? "−" : seconds > 0.004 ? "+" : "±";
  return `${sign}${Math.abs(seconds).toFixed(2)} s`;
}

function render({ model, el }) {
  const root = h("div", "fmviz-scrub");
  const bar = h("div", "fmviz-scrub-bar");
  const prev = button("◀ Prev", "previous episode", () => step(-1));
  const next = button("Next ▶", "next episode", () => step(1));
  const counter = h("span", "fmviz-scrub-counter");
  const filter = h("select", "fmviz-scrub-filter");
  filter.title = "show one failure mode";
  const outlierButton = button("Next outlier", "jump to the next episode flagged outlier", () => jumpOutlier());
  const selection = h("span", "fmviz-scrub-selection");
  const showAll = button("Show all", "clear the selection that came from the map", () => {
    model.set("filter_ids", []);
    model.save_changes();
  });
  selection.append(h("span", "fmviz-scrub-selection-text"), showAll);
  bar.append(prev, next, counter, filter, outlierButton, selection);

  const body = h("div", "fmviz-scrub-body");
  const player = h("div", "fmviz-scrub-player");
  const screen = h("div", "fmviz-scrub-screen");
  const image = h("img", "fmviz-scrub-frame");
  image.alt = "clip frame";
  const notice = h("div", "fmviz-scrub-notice");
  screen.append(image, notice);
  const controls = h("div", "fmviz-scrub-controls");
  const play = button("▶ Play", "play the clip in the browser", () => togglePlay());
  play.classList.add("fmviz-scrub-play");
  const sliderBox = h("div", "fmviz-scrub-slider-box");
  const slider = h("input", "fmviz-scrub-slider");
  slider.type = "range";
  slider.min = "0";
  slider.step = "1";
  const ticks = h("div", "fmviz-scrub-ticks");
  sliderBox.append(slider, ticks);
  const timeLabel = h("span", "fmviz-scrub-time");
  controls.append(play, sliderBox, timeLabel);
  player.append(screen, controls);

  const text = h("div", "fmviz-scrub-text");
  body.append(player, text);
  const list = h("div", "fmviz-scrub-list");
  root.append(bar, body, list);
  el.append(root);

  let visible = [];
  let frame = 0;
  let timer = null;
  let urls = [];
  let shownId = null;
  const byId = () => new Map((model.get("episodes") || []).map((e) => [e.id, e]));
  let index = byId();

  function clipOf(id) {
    const clips = model.get("clips") || {};
    if (clips[id]) return clips[id];
    const live = model.get("live_clip") || {};
    return live.id === id ? live : null;
  }

  function buildFilter() {
    clear(filter);
    const counts = new Map();
    for (const e of model.get("episodes") || []) {
      if (e.outlier || !e.cluster_id) continue;
      const c = counts.get(e.cluster_id) || { name: e.cluster_name, n: 0 };
      c.n += 1;
      counts.set(e.cluster_id, c);
    }
    const outliers = (model.get("episodes") || []).filter((e) => e.outlier).length;
    const options = [["", "All failure modes"], ...[...counts].map(([id, c]) => [id, `${c.name} (${c.n})`])];
    if (outliers) options.push(["outlier", `Outliers (${outliers})`]);
    for (const [value, label] of options) {
      const option = h("option", "", label);
      option.value = value;
      filter.append(option);
    }
    filter.value = model.get("cluster_filter") || "";
  }

  function computeVisible() {
    const wanted = model.get("filter_ids") || [];
    const only = wanted.length ? new Set(wanted) : null;
    const cluster = model.get("cluster_filter") || "";
    visible = (model.get("episodes") || []).filter(
      (e) => (!only || only.has(e.id)) && (!cluster || e.cluster_id === cluster),
    );
    selection.hidden = !only;
    selection.firstChild.textContent = only ? `${visible.length} selected on the map` : "";
  }

  function currentPosition() {
    return visible.findIndex((e) => e.id === model.get("current"));
  }

  function go(id) {
    if (model.get("current") === id) return showEpisode();
    model.set("current", id);
    model.save_changes();
  }

  function step(delta) {
    if (!visible.length) return;
    const at = currentPosition();
    const target = at < 0 ? 0 : Math.min(visible.length - 1, Math.max(0, at + delta));
    go(visible[target].id);
  }

  function jumpOutlier() {
    const all = model.get("episodes") || [];
    const at = all.findIndex((e) => e.id === model.get("current"));
    for (let k = 1; k <= all.length; k++) {
      const e = all[(at + k) % all.length];
      if (e.outlier) {
        if (model.get("cluster_filter") && model.get("cluster_filter") !== "outlier") {
          model.set("cluster_filter", "");
        }
        if ((model.get("filter_ids") || []).length && !(model.get("filter_ids") || []).includes(e.id)) {
          model.set("filter_ids", []);
        }
        return go(e.id);
      }
    }
  }

  function section(title, value) {
    if (!value) return;
    const box = h("section", "fmviz-scrub-section");
    box.append(h("h4", "", title), h("div", "fmviz-scrub-value", value));
    text.append(box);
  }

  function showEpisode() {
    stopPlay();
    computeVisible();
    if (visible.length && currentPosition() < 0) {
      model.set("current", visible[0].id);
      model.save_changes();
      return;
    }
    const at = currentPosition();
    counter.textContent = visible.length ? `${at + 1} / ${visible.length}` : "0 / 0";
    prev.disabled = at <= 0;
    next.disabled = at < 0 || at >= visible.length - 1;
    const episode = index.get(model.get("current"));
    clear(text);
    if (!episode || at < 0) {
      shownId = null;
      notice.textContent = "No episode matches the filter.";
      notice.hidden = false;
      image.hidden = true;
      controls.hidden = true;
      return;
    }
    const head = h("div", "fmviz-scrub-head");
    const badge = h("span", "fmviz-scrub-badge", episode.outlier ? "Outlier" : episode.cluster_name || "unassigned");
    const clusters = [...new Set((model.get("episodes") || []).filter((e) => !e.outlier && e.cluster_id).map((e) => e.cluster_id))];
    badge.style.borderColor = clusterColour(clusters.indexOf(episode.cluster_id), episode.outlier);
    head.append(h("span", "fmviz-scrub-id", episode.id), badge);
    text.append(head);
    section("Failure reason", episode.failure_reason);
    section("Trajectory", episode.trajectory);
    section("Task context", episode.context);
    section("Why this cluster", episode.rationale);
    if (shownId !== episode.id) frame = -1;
    shownId = episode.id;
    showClip(episode);
    markList();
    if (!root.dataset.firstShownAt) root.dataset.firstShownAt = performance.now().toFixed(1); // for benchmarks
  }

  function showClip(episode) {
    for (const url of urls) URL.revokeObjectURL(url);
    urls = [];
    const clip = clipOf(episode.id);
    const note = (model.get("notes") || {})[episode.id];
    if (clip && clip.frames && clip.frames.length) {
      urls = clip.frames.map((bytes) => bytesToUrl(bytes));
      slider.max = String(urls.length - 1);
      buildTicks(clip);
      if (frame < 0 || frame >= urls.length) frame = clip.failure_index ?? urls.length - 1;
      controls.hidden = false;
      image.hidden = false;
      notice.hidden = !note;
      notice.textContent = note || "";
      showFrame(frame);
      return;
    }
    controls.hidden = true;
    const thumb = (model.get("thumbnails") || {})[episode.id];
    if (thumb) {
      urls = [bytesToUrl(thumb)];
      image.src = urls[0];
      image.hidden = false;
    } else {
      image.removeAttribute("src");
      image.hidden = true;
    }
    notice.hidden = false;
    notice.textContent = note
      ? note
      : !episode.has_source
        ? "This episode has no frames (a text-only record)."
        : "Frames not saved with this notebook (over the frame budget). With a running kernel they load when the episode opens.";
  }

  function buildTicks(clip) {
    clear(ticks);
    const n = clip.frames.length;
    for (let i = 0; i < n; i++) {
      const tick = h("span", i === clip.failure_index ? "fmviz-scrub-tick fmviz-scrub-failure" : "fmviz-scrub-tick");
      const pct = n > 1 ? i / (n - 1) : 0.5;
      tick.style.left = `calc(${(pct * 100).toFixed(3)}% + ${((0.5 - pct) * 14).toFixed(2)}px)`;
      tick.title = i === clip.failure_index ? "failure frame" : `frame ${i + 1}`;
      ticks.append(tick);
    }
  }

  function showFrame(i) {
    const clip = clipOf(shownId);
    if (!clip || !urls.length) return;
    frame = Math.max(0, Math.min(urls.length - 1, i));
    image.src = urls[frame];
    slider.value = String(frame);
    const times = clip.times || [];
    const failure = clip.failure_index ?? urls.length - 1;
    const rel = (times[frame] ?? frame) - (times[failure] ?? failure);
    const isFailure = frame === failure;
    timeLabel.textContent = `${frame + 1}/${urls.length} · ${isFailure ? "failure" : formatTime(rel)}`;
    timeLabel.classList.toggle("fmviz-scrub-at-failure", isFailure);
    root.dataset.frame = String(frame);
  }

  function togglePlay() {
    if (timer) return stopPlay();
    if (!urls.length || controls.hidden) return;
    if (frame >= urls.length - 1) showFrame(0);
    play.textContent = "❚❚ Pause";
    timer = setInterval(() => {
      if (frame >= urls.length - 1) showFrame(0);
      else showFrame(frame + 1);
    }, 1000 / Math.max(0.1, model.get("fps") || 2));
  }

  function stopPlay() {
    if (timer) clearInterval(timer);
    timer = null;
    play.textContent = "▶ Play";
  }

  function buildList() {
    clear(list);
    for (const e of visible.slice(0, LIST_LIMIT)) {
      const row = h("button", "fmviz-scrub-row");
      row.type = "button";
      row.dataset.id = e.id;
      row.append(
        h("span", "fmviz-scrub-row-id", e.id),
        h("span", "fmviz-scrub-row-cluster", e.outlier ? "Outlier" : e.cluster_name),
        h("span", "fmviz-scrub-row-reason", e.failure_reason.slice(0, 140)),
      );
      row.addEventListener("click", () => go(e.id));
      list.append(row);
    }
    if (visible.length > LIST_LIMIT) list.append(h("div", "fmviz-scrub-more", `… ${visible.length - LIST_LIMIT} more (use Next or the filter)`));
  }

  function markList() {
    const id = model.get("current");
    for (const row of list.querySelectorAll(".fmviz-scrub-row")) row.classList.toggle("fmviz-active", row.dataset.id === id);
  }

  const onSlider = () => { stopPlay(); showFrame(Number(slider.value)); };
  const onFilter = () => { model.set("cluster_filter", filter.value); model.save_changes(); };
  const refresh = () => { computeVisible(); buildList(); showEpisode(); };
  const rebuild = () => { index = byId(); buildFilter(); refresh(); };
  const onLive = () => { const live = model.get("live_clip") || {}; if (live.id === shownId) showClip(index.get(shownId)); };
  slider.addEventListener("input", onSlider);
  filter.addEventListener("change", onFilter);
  const handlers = [
    ["change:episodes", rebuild],
    ["change:clips", refresh],
    ["change:thumbnails", refresh],
    ["change:notes", refresh],
    ["change:current", showEpisode],
    ["change:cluster_filter", () => { filter.value = model.get("cluster_filter") || ""; refresh(); }],
    ["change:filter_ids", refresh],
    ["change:live_clip", onLive],
  ];
  for (const [event, handler] of handlers) model.on(event, handler);
  rebuild();

  return () => {
    stopPlay();
    for (const url of urls) URL.revokeObjectURL(url);
    for (const [event, handler] of handlers) model.off(event, handler);
  };
}

export default { render };
