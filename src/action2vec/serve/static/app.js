// The Action2Vec explorer page: plain DOM code over the JSON API of `action2vec serve` (docs/explorer.md).
// Every text from the server is put in with textContent, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const state = { info: null, classes: [], points: [], byName: new Map(), selected: null, upload: null };

// ---------------------------------------------------------------------------------------------- API

async function api(url, options) {
  let response;
  try {
    response = await fetch(url, options);
  } catch (err) {
    throw new Error("the server did not answer (is `action2vec serve` still running?)");
  }
  let body = null;
  try {
    body = await response.json();
  } catch (err) {
    body = null;
  }
  if (!response.ok) {
    throw new Error((body && body.error) || `the server answered ${response.status}`);
  }
  return body;
}

function query(params) {
  return new URLSearchParams(params).toString();
}

// ---------------------------------------------------------------------------------- small helpers

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  Object.entries(props || {}).forEach(([k, v]) => {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  });
  children.forEach((c) => node.append(c));
  return node;
}

function showError(id, err) {
  const box = $(id);
  box.textContent = err ? (err.message || String(err)) : "";
  box.hidden = !err;
}

function setStatus(id, text) {
  $(id).textContent = text || "";
  $(id).hidden = !text;
}

function mib(bytes) {
  return Number((bytes / 2 ** 20).toPrecision(3));
}

function fmt(score) {
  return score.toFixed(3);
}

// --------------------------------------------------------------------------------- result lists

function classList(target, hits, onClick) {
  const list = $(target);
  list.replaceChildren();
  const top = Math.max(...hits.map((h) => h.score), 1e-9);
  hits.forEach((hit, i) => {
    const name = hit.class !== undefined ? hit.class : hit.label;
    const label = onClick
      ? el("a", { class: "name", text: name, title: name, onclick: () => onClick(name) })
      : el("span", { class: "name", text: name, title: name });
    const bar = el("span", { class: "bar" }, el("span", { style: `width:${Math.max(0, hit.score / top) * 100}%` }));
    list.append(el("li", { "data-name": name }, el("span", { class: "rank", text: `${i + 1}.` }), label, bar,
      el("span", { class: "score", text: fmt(hit.score) })));
  });
  if (!hits.length) list.append(el("li", { class: "hint", text: "no classes" }));
}

function videoCards(target, videos) {
  const box = $(target);
  box.replaceChildren();
  videos.forEach((v) => {
    const picture = v.preview
      ? el("img", { class: "thumb", src: v.preview, alt: v.key, loading: "lazy" })
      : el("div", { class: "nothumb", text: "video file not on disk" });
    if (v.preview) {
      picture.addEventListener("error", () => picture.replaceWith(el("div", { class: "nothumb", text: "no preview" })));
    }
    box.append(el("div", { class: "video", title: `${v.key}\n${v.class || "no class"} · ${fmt(v.score)}`,
      "data-key": v.key, onclick: () => showNeighbours({ key: v.key }) },
      picture,
      el("div", { class: "meta" }, el("span", { class: "cls", text: v.class || "(no class)" }),
        el("span", { class: "score", text: fmt(v.score) })),
      el("div", { class: "key", text: v.key.split("/").pop() })));
  });
  if (!videos.length) box.append(el("p", { class: "hint", text: "no videos" }));
}

// ---------------------------------------------------------------------------------------- search

async function search(event) {
  event.preventDefault();
  const q = $("search-q").value;
  try {
    const result = await api(`/api/search?${query({ q, k: 10 })}`);
    showError("search-error", null);
    classList("search-classes", result.classes, (name) => showNeighbours({ class: name }));
    videoCards("search-videos", result.videos);
    $("search-results").hidden = false;
  } catch (err) {
    showError("search-error", err);
    $("search-results").hidden = true;
  }
}

// --------------------------------------------------------------------------------------- analogy

async function analogy(event) {
  event.preventDefault();
  const [a, b, c] = ["a", "b", "c"].map((t) => $(`analogy-${t}`).value);
  try {
    const result = await api(`/api/analogy?${query({ a, b, c, k: 5 })}`);
    showError("analogy-error", null);
    const terms = $("analogy-terms");
    terms.replaceChildren();
    result.terms.forEach((t, i) => {
      if (i) terms.append(i === 1 ? " − " : " + ");
      terms.append(el("span", { class: `term ${t.kind}` }, t.text, " ",
        el("small", { text: t.kind === "class" ? "(class mean)" : "(text)" })));
    });
    terms.append(" ≈");
    classList("analogy-classes", result.classes, (name) => showNeighbours({ class: name }));
    $("analogy-results").hidden = false;
  } catch (err) {
    showError("analogy-error", err);
    $("analogy-results").hidden = true;
  }
}

// ------------------------------------------------------------------------------------ neighbours

async function showNeighbours(what) {
  const name = what.class !== undefined ? what.class : what.key;
  $("neighbours-title").textContent = `Neighbours of ${what.class !== undefined ? "class" : "video"} “${name}”`;
  try {
    const result = await api(`/api/neighbours?${query({ ...what, k: 10 })}`);
    showError("neighbours-error", null);
    $("neighbours-hint").hidden = true;
    classList("neighbours-classes", result.classes, (c) => showNeighbours({ class: c }));
    videoCards("neighbours-videos", result.videos);
    $("neighbours-results").hidden = false;
    selectOnMap(what.class !== undefined ? `class:${name}` : `video:${name}`, result);
  } catch (err) {
    showError("neighbours-error", err);
    $("neighbours-results").hidden = true;
  }
}

// -------------------------------------------------------------------------------------------- map

// one colour per verb (first word of the class name): twelve qualitative colours that stay apart, then the same
// hues again darker and lighter, so that up to 36 verbs keep distinct colours
const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
  "#bcbd22", "#7f7f7f", "#393b79", "#e6ab02"];

function colour(group, groups) {
  const i = groups.indexOf(group);
  if (i < 0) return "#888";
  const base = PALETTE[i % PALETTE.length];
  const round = Math.floor(i / PALETTE.length) % 3;
  if (round === 0) return base;
  const toward = round === 1 ? 0 : 255;
  const rgb = [1, 3, 5].map((k) => Math.round(parseInt(base.slice(k, k + 2), 16) * 0.62 + toward * 0.38));
  return `rgb(${rgb.join(",")})`;
}

function drawMap(points) {
  const svg = $("map");
  svg.replaceChildren();
  const width = 1000;
  const maxY = Math.max(0.35, ...points.map((p) => p.y));
  const maxX = Math.max(0.35, ...points.map((p) => p.x));
  const pad = 30;
  const scale = (width - 2 * pad) / maxX;
  const height = Math.round(Math.min(Math.max(maxY * scale + 2 * pad, 420), 1100));
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const groups = [...new Set(points.map((p) => (p.class || "").split(/[\s_]+/)[0]))].sort();
  const classes = points.filter((p) => p.kind === "class");
  // videos above the class means, so every video can be hovered and clicked; names above both (they let the
  // pointer through)
  const layers = { lines: document.createElementNS(SVG, "g"), classes: document.createElementNS(SVG, "g"),
    videos: document.createElementNS(SVG, "g"), labels: document.createElementNS(SVG, "g") };
  Object.values(layers).forEach((g) => svg.append(g));
  state.layers = layers;
  state.byName = new Map();
  points.forEach((p) => {
    p.px = pad + p.x * scale;
    p.py = pad + p.y * scale;
    const c = document.createElementNS(SVG, "circle");
    c.setAttribute("cx", p.px.toFixed(1));
    c.setAttribute("cy", p.py.toFixed(1));
    c.setAttribute("r", p.kind === "class" ? 10 : 5);
    c.setAttribute("class", p.kind);
    c.setAttribute("fill", p.class ? colour((p.class || "").split(/[\s_]+/)[0], groups) : "#888");
    c.dataset.kind = p.kind;
    c.dataset.name = p.name;
    c.addEventListener("mouseenter", (e) => hover(p, c, e));
    c.addEventListener("mouseleave", () => hover(null, c));
    c.addEventListener("click", () => showNeighbours(p.kind === "class" ? { class: p.name } : { key: p.name }));
    (p.kind === "class" ? layers.classes : layers.videos).append(c);
    state.byName.set(`${p.kind}:${p.name}`, { point: p, circle: c });
  });
  if (classes.length <= 60) {
    // a name beside its dot, right or left (left first near the right edge), where it overlaps no name already
    // placed and no other class's dot; a name with room on neither side is left out (hovering its dot names it)
    const placed = classes.map((p) => ({ x: p.px - 11, y: p.py - 11, width: 22, height: 22, dot: p }));
    const free = (b, own) => !placed.some((q) => q.dot !== own && b.x < q.x + q.width && q.x < b.x + b.width &&
                                                 b.y < q.y + q.height && q.y < b.y + b.height);
    classes.forEach((p) => {
      const t = document.createElementNS(SVG, "text");
      t.setAttribute("y", (p.py + 6).toFixed(1));
      t.textContent = p.name;
      t.dataset.name = p.name;
      layers.labels.append(t);
      const sides = p.px > width - 170 ? [true, false] : [false, true];
      for (const left of sides) {
        t.setAttribute("x", (p.px + (left ? -14 : 14)).toFixed(1));
        t.setAttribute("text-anchor", left ? "end" : "start");
        const box = t.getBBox();
        if (free(box, p) && box.x >= 0 && box.x + box.width <= width) {
          placed.push(box);
          return;
        }
      }
      t.remove();
    });
  }
}

function hover(point, circle, event) {
  const tip = $("map-tooltip");
  circle.classList.toggle("hover", !!point);
  if (!point) {
    tip.hidden = true;
    return;
  }
  const box = $("map-box").getBoundingClientRect();
  const dot = circle.getBoundingClientRect();
  tip.textContent = point.kind === "class" ? `class: ${point.name}` : `video: ${point.name} (${point.class || "no class"})`;
  const x = dot.left + dot.width / 2 - box.left;
  tip.style.left = `${x}px`;
  tip.style.top = `${dot.top - box.top}px`;
  tip.hidden = false;
  // keep the tooltip inside the map: right-aligned near the right edge, left-aligned near the left one
  const half = tip.offsetWidth / 2;
  const shift = x + half > box.width ? "-100%" : x - half < 0 ? "0%" : "-50%";
  tip.style.transform = `translate(${shift}, -130%)`;
}

function selectOnMap(id, result) {
  document.querySelectorAll("#map circle.selected, #map circle.near").forEach((c) => c.classList.remove("selected", "near"));
  if (!state.layers) return;
  state.layers.lines.replaceChildren();
  const origin = state.byName.get(id);
  if (!origin) return;
  origin.circle.classList.add("selected");
  const near = [...result.classes.map((c) => `class:${c.class}`), ...result.videos.map((v) => `video:${v.key}`)];
  near.forEach((n) => {
    const target = state.byName.get(n);
    if (!target) return;
    target.circle.classList.add("near");
    if (target.point.kind !== "class" || result.classes.findIndex((c) => `class:${c.class}` === n) >= 5) return;
    const line = document.createElementNS(SVG, "line");
    line.setAttribute("x1", origin.point.px);
    line.setAttribute("y1", origin.point.py);
    line.setAttribute("x2", target.point.px);
    line.setAttribute("y2", target.point.py);
    state.layers.lines.append(line);
  });
}

// ---------------------------------------------------------------------------------------- uploads

function labelTexts() {
  return $("upload-labels").value.split("\n").map((t) => t.trim()).filter((t) => t);
}

async function uploadFile(file) {
  showError("upload-error", null);
  $("upload-results").hidden = true;
  const limit = state.info ? state.info.max_upload_bytes : Infinity;
  if (file.size > limit) {
    showError("upload-error", new Error(`${file.name}: ${mib(file.size)} MiB, more than the ${mib(limit)} MiB limit ` +
      "of this server (action2vec serve --serve.max_upload_mb)"));
    return;
  }
  setStatus("upload-status", `embedding ${file.name} …`);
  try {
    const result = await api(`/api/upload?${query({ name: file.name, k: 10 })}`,
      { method: "POST", body: file, headers: { "Content-Type": "application/octet-stream" } });
    state.upload = result;
    videoCards("upload-videos", result.videos);
    $("upload-rank").disabled = false;
    setStatus("upload-status", `${result.name}: embedded`);
    if (!labelTexts().length) {
      classList("upload-ranking", result.classes.map((c) => ({ label: c.class, score: c.score })));
      setStatus("upload-status", `${result.name}: nearest classes shown; type label texts and press Rank to rank them`);
      $("upload-results").hidden = false;
      return;
    }
    await rank();
  } catch (err) {
    setStatus("upload-status", null);
    state.upload = null;
    $("upload-rank").disabled = true;
    showError("upload-error", err);
  }
}

async function rank() {
  if (!state.upload) return;
  try {
    const result = await api("/api/rank", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ upload: state.upload.upload, labels: labelTexts() }) });
    showError("upload-error", null);
    classList("upload-ranking", result.ranking);
    setStatus("upload-status", `${state.upload.name}: ${result.ranking.length} label texts ranked`);
    $("upload-results").hidden = false;
  } catch (err) {
    showError("upload-error", err);
  }
}

function setUpDrop() {
  const drop = $("drop");
  ["dragenter", "dragover"].forEach((t) => drop.addEventListener(t, (e) => {
    e.preventDefault();
    drop.classList.add("over");
  }));
  ["dragleave", "drop"].forEach((t) => drop.addEventListener(t, () => drop.classList.remove("over")));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    if (e.dataTransfer.files.length) uploadFile(e.dataTransfer.files[0]);
  });
  $("upload-file").addEventListener("change", (e) => {
    if (e.target.files.length) uploadFile(e.target.files[0]);
    e.target.value = "";
  });
  $("upload-rank").addEventListener("click", rank);
  $("upload-use-classes").addEventListener("click", () => {
    $("upload-labels").value = state.classes.map((c) => c.class).join("\n");
  });
}

// ------------------------------------------------------------------------------------------ start

async function start() {
  $("search-form").addEventListener("submit", search);
  $("analogy-form").addEventListener("submit", analogy);
  setUpDrop();
  try {
    const [info, classes, layout] = await Promise.all([api("/api/info"), api("/api/classes"), api("/api/map")]);
    state.info = info;
    state.classes = classes;
    $("info").textContent = `${info.videos} videos · ${info.classes} classes · ${info.variant}, ${info.embed_dim}-d · ` +
      `text: ${info.text || "given vectors"} · model ${info.model}`;
    $("upload-limit").textContent = `(at most ${mib(info.max_upload_bytes)} MiB)`;
    $("class-names").replaceChildren(...classes.map((c) => el("option", { value: c.class })));
    const shown = (kind) => layout.points.filter((p) => p.kind === kind).length;
    $("map-method").textContent = `(${layout.method}: ${shown("class")} class means, ${shown("video")} of ` +
      `${info.videos} videos)`;
    drawMap(layout.points);
    document.body.dataset.ready = "1";
  } catch (err) {
    showError("page-error", err);
  }
}

start();
