// odkit label: the page. No build step, no network beyond this server; boxes are in image pixels (xyxy).
"use strict";

const TOKEN = document.querySelector('meta[name="odkit-token"]').content;
const SVG_NS = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);

const state = {
  images: [], classes: [], index: -1, cur: null, boxes: [], version: "", selected: -1,
  dirty: false, undo: [], redo: [], drawing: false, drag: null,
  view: { s: 1, tx: 0, ty: 0 }, mouse: null, busy: false,
  model: null, proposals: [], rejected: new Map(), psel: -1,  // --model: proposals, rejected ids per image
};

// ---- server

async function api(method, path, body) {
  const opts = { method, headers: { "X-Odkit-Token": TOKEN } };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(path, opts);
  let data = null;
  try { data = await r.json(); } catch (e) { data = { error: `${r.status} ${r.statusText}` }; }
  return { ok: r.ok, status: r.status, data };
}

function setStatus(text, kind) {
  const el = $("status");
  el.textContent = text;
  el.dataset.state = kind || "idle";
}

// ---- view

function applyView() {
  const v = state.view;
  $("stage").style.transform = `translate(${v.tx}px, ${v.ty}px) scale(${v.s})`;
  renderBoxes();
}

function fit() {
  const vp = $("viewport").getBoundingClientRect();
  const w = state.cur ? state.cur.width : 1, h = state.cur ? state.cur.height : 1;
  const s = Math.min(vp.width / w, vp.height / h) * 0.95;
  state.view = { s, tx: (vp.width - w * s) / 2, ty: (vp.height - h * s) / 2 };
  applyView();
}

function toImage(ev) {
  const vp = $("viewport").getBoundingClientRect();
  const v = state.view;
  return { x: (ev.clientX - vp.left - v.tx) / v.s, y: (ev.clientY - vp.top - v.ty) / v.s };
}

function clampBox(b) {
  const W = state.cur.width, H = state.cur.height;
  const x0 = Math.max(0, Math.min(b.x0, b.x1)), x1 = Math.min(W, Math.max(b.x0, b.x1));
  const y0 = Math.max(0, Math.min(b.y0, b.y1)), y1 = Math.min(H, Math.max(b.y0, b.y1));
  return Object.assign(b, { x0, y0, x1: Math.max(x0, x1), y1: Math.max(y0, y1) });
}

function roundBox(b) {
  for (const k of ["x0", "y0", "x1", "y1"]) b[k] = Math.round(b[k]);
  return clampBox(b);
}

function el(tag, attrs) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

function renderBoxes() {
  const svg = $("overlay");
  const g = $("boxes");
  g.replaceChildren();
  if (!state.cur) return;
  const W = state.cur.width, H = state.cur.height, s = state.view.s;
  svg.setAttribute("width", W);
  svg.setAttribute("height", H);
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  for (const p of shownProposals()) {
    g.appendChild(el("rect", {
      class: "proposal" + (p.acceptable ? "" : " unacceptable") + (p.id === state.psel ? " selected" : ""),
      x: p.x0, y: p.y0, width: p.x1 - p.x0, height: p.y1 - p.y0,
      "data-pid": p.id, "data-cls": p.cls, "data-score": p.score,
    }));
    const t = el("text", { class: "plabel", x: p.x0 + 2 / s, y: p.y1 - 3 / s, "font-size": 12 / s });
    t.textContent = `${p.cls} ${p.score.toFixed(2)}`;
    g.appendChild(t);
  }
  state.boxes.forEach((b, i) => {
    g.appendChild(el("rect", {
      class: "box" + (i === state.selected ? " selected" : ""), x: b.x0, y: b.y0,
      width: b.x1 - b.x0, height: b.y1 - b.y0, "data-index": i, "data-cls": b.cls,
    }));
    const t = el("text", { class: "label", x: b.x0 + 2 / s, y: b.y0 - 3 / s, "font-size": 12 / s });
    t.textContent = b.cls;
    g.appendChild(t);
  });
  if (state.selected >= 0 && state.selected < state.boxes.length) {
    const b = state.boxes[state.selected], hs = 8 / s;
    const corners = { nw: [b.x0, b.y0], ne: [b.x1, b.y0], sw: [b.x0, b.y1], se: [b.x1, b.y1] };
    for (const [name, [x, y]] of Object.entries(corners)) {
      g.appendChild(el("rect", {
        class: "handle", "data-handle": name, "data-index": state.selected,
        x: x - hs / 2, y: y - hs / 2, width: hs, height: hs,
      }));
    }
  }
  if (state.drag && state.drag.kind === "draw" && state.drag.draft) {
    const d = state.drag.draft;
    g.appendChild(el("rect", { class: "draft", id: "draft", x: Math.min(d.x0, d.x1), y: Math.min(d.y0, d.y1),
      width: Math.abs(d.x1 - d.x0), height: Math.abs(d.y1 - d.y0) }));
  }
  renderCross();
  renderBoxList();
  renderProposalList();
}

function renderCross() {
  const m = state.mouse, W = state.cur ? state.cur.width : 0, H = state.cur ? state.cur.height : 0;
  const h = $("cross-h"), v = $("cross-v");
  h.style.display = v.style.display = m ? "" : "none";
  if (!m) return;
  for (const [k, val] of Object.entries({ x1: 0, x2: W, y1: m.y, y2: m.y })) h.setAttribute(k, val);
  for (const [k, val] of Object.entries({ x1: m.x, x2: m.x, y1: 0, y2: H })) v.setAttribute(k, val);
}

function renderBoxList() {
  const ul = $("box-list");
  ul.replaceChildren();
  state.boxes.forEach((b, i) => {
    const li = document.createElement("li");
    li.dataset.index = i;
    li.dataset.cls = b.cls;
    if (i === state.selected) li.className = "selected";
    li.textContent = `${i + 1}. ${b.cls} [${b.x0}, ${b.y0}, ${b.x1}, ${b.y1}]`;
    li.addEventListener("click", () => select(i));
    ul.appendChild(li);
  });
  const sel = $("class-select");
  if (state.selected >= 0 && state.boxes[state.selected]) sel.value = state.boxes[state.selected].cls;
}

function renderList() {
  const ul = $("image-list");
  const filter = $("filter").value;
  ul.replaceChildren();
  const score = (im) => (im.disagreement ? im.disagreement.score : -1);
  const order = [...state.images];
  if (state.model && $("sort").value === "disagreement") order.sort((a, b) => score(b) - score(a) || a.index - b.index);
  for (const im of order) {
    if (filter === "unlabelled" && im.boxes > 0) continue;
    if (filter === "findings" && im.findings === 0) continue;
    if (filter === "disagrees" && !(score(im) > 0)) continue;
    const li = document.createElement("li");
    li.className = "image-item" + (im.index === state.index ? " current" : "");
    li.dataset.index = im.index;
    li.dataset.boxes = im.boxes;
    li.dataset.findings = im.findings;
    li.title = im.file;
    li.textContent = `${im.file} (${im.boxes})`;
    if (im.findings) {
      const w = document.createElement("span");
      w.className = "warn";
      w.textContent = ` \u26a0${im.findings}`;
      li.appendChild(w);
    }
    if (im.disagreement) {
      const d = im.disagreement;
      li.dataset.disagreement = d.score;
      if (d.score) {
        const w = document.createElement("span");
        w.className = "disagree";
        w.title = `model: ${d.missed} missed, ${d.extra} extra, ${d.conflicts} class conflicts`;
        w.textContent = ` \u2260${d.score}`;
        li.appendChild(w);
      }
    }
    li.addEventListener("click", () => go(im.index));
    ul.appendChild(li);
  }
}

function renderFindings(list) {
  const ul = $("findings");
  ul.replaceChildren();
  for (const f of list) {
    const li = document.createElement("li");
    li.textContent = f;
    ul.appendChild(li);
  }
}

// ---- editing

function snapshot() { return JSON.stringify(state.boxes); }

function commit(before) {
  if (before === snapshot()) return;
  state.undo.push(before);
  state.redo = [];
  state.dirty = true;
  setStatus("unsaved changes", "dirty");
}

function select(i) {
  state.selected = i;
  renderBoxes();
}

function undo() {
  if (!state.undo.length) return;
  state.redo.push(snapshot());
  state.boxes = JSON.parse(state.undo.pop());
  state.selected = -1;
  state.dirty = true;
  setStatus("unsaved changes", "dirty");
  renderBoxes();
}

function redo() {
  if (!state.redo.length) return;
  state.undo.push(snapshot());
  state.boxes = JSON.parse(state.redo.pop());
  state.selected = -1;
  state.dirty = true;
  setStatus("unsaved changes", "dirty");
  renderBoxes();
}

function deleteSelected() {
  if (state.selected < 0) return;
  const before = snapshot();
  state.boxes.splice(state.selected, 1);
  state.selected = -1;
  commit(before);
  renderBoxes();
}

function setClass(name) {
  if (!state.classes.includes(name)) return;
  $("class-select").value = name;
  if (state.selected < 0) return;
  const before = snapshot();
  state.boxes[state.selected].cls = name;
  commit(before);
  renderBoxes();
}

function setDrawing(on) {
  state.drawing = on;
  $("btn-draw").classList.toggle("active", on);
  $("viewport").classList.toggle("drawing", on);
}

// ---- model proposals

function iou(a, b) {
  const w = Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0), h = Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / ((a.x1 - a.x0) * (a.y1 - a.y0) + (b.x1 - b.x0) * (b.y1 - b.y0) - inter);
}

function rejectedSet() {
  if (!state.rejected.has(state.index)) state.rejected.set(state.index, new Set());
  return state.rejected.get(state.index);
}

// proposals not rejected and not already a label (same class, IoU >= 0.5): undoing an accept shows it again
function shownProposals() {
  const gone = state.rejected.get(state.index) || new Set();
  return state.proposals.filter((p) => !gone.has(p.id)
    && !state.boxes.some((b) => b.cls === p.cls && iou(b, p) >= 0.5));
}

function acceptProposals(list) {
  const ok = list.filter((p) => p.acceptable);
  const refused = list.find((p) => !p.acceptable);
  if (refused && !ok.length) { setStatus(`cannot accept: ${refused.note}`, "error"); return; }
  if (!ok.length) { setStatus("no proposal to accept", "idle"); return; }
  const before = snapshot();
  for (const p of ok) {
    state.boxes.push(roundBox({ x0: p.x0, y0: p.y0, x1: p.x1, y1: p.y1, cls: p.cls, src: null,
      difficult: false, truncated: false, iscrowd: false }));
  }
  for (const c of ok.map((p) => p.cls)) if (!state.classes.includes(c)) state.classes.push(c);
  state.selected = ok.length === 1 ? state.boxes.length - 1 : -1;
  state.psel = -1;
  commit(before);
  renderBoxes();
  if (refused) setStatus(`accepted ${ok.length}; not ${refused.cls}: ${refused.note}`, "dirty");
}

function acceptAll() {
  const t = Number($("accept-threshold").value);
  if (!Number.isFinite(t)) { setStatus("the threshold must be a number in [0, 1]", "error"); return; }
  acceptProposals(shownProposals().filter((p) => p.score >= t && p.acceptable));
}

function rejectProposals(list) {
  const set = rejectedSet();
  for (const p of list) set.add(p.id);
  state.psel = -1;
  renderBoxes();
}

function selectProposal(id) {
  state.psel = id;
  state.selected = -1;
  renderBoxes();
}

function renderProposalList() {
  if (!state.model) return;
  const ul = $("proposal-list");
  ul.replaceChildren();
  const shown = shownProposals();
  $("proposal-count").textContent = `(${shown.length})`;
  for (const p of shown) {
    const li = document.createElement("li");
    li.dataset.pid = p.id;
    li.className = (p.id === state.psel ? "selected" : "") + (p.acceptable ? "" : " unacceptable");
    li.title = p.note || "click to select; Enter accepts, x rejects";
    li.textContent = `${p.cls} ${p.score.toFixed(2)} [${Math.round(p.x0)}, ${Math.round(p.y0)}, `
      + `${Math.round(p.x1)}, ${Math.round(p.y1)}]`;
    const yes = document.createElement("button");
    yes.textContent = "\u2713";
    yes.title = "accept";
    yes.className = "accept";
    yes.addEventListener("click", (ev) => { ev.stopPropagation(); acceptProposals([p]); });
    const no = document.createElement("button");
    no.textContent = "\u2717";
    no.title = "reject (hide)";
    no.className = "reject";
    no.addEventListener("click", (ev) => { ev.stopPropagation(); rejectProposals([p]); });
    li.append(yes, no);
    li.addEventListener("click", () => selectProposal(p.id));
    ul.appendChild(li);
  }
}

// every image's disagreement, predicting those not predicted yet (for the filter and the sort)
async function ensureDisagreement() {
  if (!state.model || state.images.every((im) => im.disagreement)) return;
  setStatus("the model is predicting every image...", "saving");
  const r = await api("GET", "/api/images?predict=all");
  if (!r.ok) { setStatus(r.data.error, "error"); return; }
  const fresh = new Map(r.data.images.map((im) => [im.index, im.disagreement]));
  for (const im of state.images) if (!im.disagreement) im.disagreement = fresh.get(im.index);
  state.model = r.data.model;
  $("model-status").textContent = state.model.error || "";
  setStatus("disagreement computed for every image", "idle");
}

// ---- loading and saving

async function load(index) {
  const r = await api("GET", `/api/images/${index}`);
  if (!r.ok) { setStatus(r.data.error, "error"); return false; }
  const d = r.data;
  state.index = index;
  state.cur = d;
  state.classes = d.classes;
  state.boxes = d.boxes;
  state.version = d.version;
  state.selected = -1;
  state.undo = [];
  state.redo = [];
  state.dirty = false;
  state.proposals = d.proposals || [];
  state.psel = -1;
  if (state.model) {
    $("model-status").textContent = d.model_error ? `model: ${d.model_error}` : "";
    const row = state.images.find((im) => im.index === index);
    if (row && d.disagreement) row.disagreement = d.disagreement;
  }
  fillClasses();
  $("image-name").textContent = d.file;
  renderFindings(d.findings);
  const img = $("image");
  await new Promise((resolve) => {
    img.onload = resolve;
    img.onerror = () => { setStatus(`cannot load image ${d.file}`, "error"); resolve(); };
    img.src = `/api/images/${index}/file?token=${encodeURIComponent(TOKEN)}`;
  });
  if (!d.width || !d.height) { d.width = img.naturalWidth; d.height = img.naturalHeight; }
  img.width = d.width;
  img.height = d.height;
  fit();
  renderList();
  document.body.dataset.loaded = String(index);
  setStatus(`${d.file}: ${d.boxes.length} boxes`, "idle");
  return true;
}

function fillClasses() {
  const sel = $("class-select");
  const keep = sel.value;
  sel.replaceChildren();
  state.classes.forEach((c, i) => {
    const o = document.createElement("option");
    o.value = c;
    o.textContent = i < 9 ? `${i + 1}: ${c}` : c;
    sel.appendChild(o);
  });
  if (state.classes.includes(keep)) sel.value = keep;
}

async function save() {
  if (!state.cur) return true;
  if (state.busy) return false;
  state.busy = true;
  try {
    setStatus("saving...", "saving");
    const r = await api("PUT", `/api/images/${state.index}`, { version: state.version, boxes: state.boxes });
    if (!r.ok) {
      const hint = r.status === 409 ? " (Reload reads the file again, dropping these edits)" : "";
      setStatus(`not saved: ${r.data.error}${hint}`, r.status === 409 ? "conflict" : "error");
      return false;
    }
    state.version = r.data.version;
    state.boxes.forEach((b, i) => { b.src = i; });  // the file now holds the boxes in this order
    state.dirty = false;
    renderFindings(r.data.findings);
    const row = state.images.find((im) => im.index === state.index);
    if (row) {
      row.boxes = r.data.boxes;
      row.findings = r.data.findings.length;
      if (r.data.disagreement) row.disagreement = r.data.disagreement;
    }
    renderList();
    setStatus(`saved ${r.data.file}`, "saved");
    return true;
  } finally {
    state.busy = false;
  }
}

async function go(index) {
  if (index < 0 || index >= state.images.length || index === state.index) return;
  if (state.dirty && !(await save())) return;  // a failed save keeps the edits on screen
  await load(index);
}

function step(delta) {
  const shown = [...$("image-list").children].map((li) => Number(li.dataset.index));
  const order = shown.length ? shown : state.images.map((im) => im.index);
  let k = order.indexOf(state.index);
  if (k < 0) k = delta > 0 ? -1 : order.length;
  const next = order[k + delta];
  if (next !== undefined) go(next);
}

// ---- mouse

function onDown(ev) {
  if (!state.cur) return;
  $("viewport").focus();
  const p = toImage(ev);
  const t = ev.target;
  const before = snapshot();
  if (ev.button === 0 && !state.drawing && t.classList.contains("proposal")) {
    const p = state.proposals.find((q) => q.id === Number(t.dataset.pid));
    if (p) acceptProposals([p]);
    ev.preventDefault();
    return;
  }
  if (ev.button === 1 || (ev.button === 0 && !state.drawing && !t.classList.contains("box")
      && !t.classList.contains("handle"))) {
    if (ev.button === 0) select(-1);
    state.drag = { kind: "pan", sx: ev.clientX, sy: ev.clientY, tx: state.view.tx, ty: state.view.ty };
  } else if (ev.button !== 0) {
    return;
  } else if (state.drawing) {
    state.drag = { kind: "draw", before, draft: { x0: p.x, y0: p.y, x1: p.x, y1: p.y } };
  } else if (t.classList.contains("handle")) {
    const i = Number(t.dataset.index);
    state.drag = { kind: "resize", before, i, h: t.dataset.handle, orig: { ...state.boxes[i] }, p };
  } else {
    const i = Number(t.dataset.index);
    select(i);
    state.drag = { kind: "move", before, i, orig: { ...state.boxes[i] }, p };
  }
  ev.preventDefault();
}

function onMove(ev) {
  const vp = $("viewport").getBoundingClientRect();
  const inside = ev.clientX >= vp.left && ev.clientX < vp.right && ev.clientY >= vp.top && ev.clientY < vp.bottom;
  const p = state.cur ? toImage(ev) : null;
  state.mouse = inside && p ? p : null;
  $("coords").textContent = state.mouse ? `x ${Math.floor(p.x)}  y ${Math.floor(p.y)}` : "";
  if (state.mouse) { $("coords").dataset.x = p.x.toFixed(1); $("coords").dataset.y = p.y.toFixed(1); }
  const d = state.drag;
  if (d) {
    if (d.kind === "pan") {
      state.view.tx = d.tx + ev.clientX - d.sx;
      state.view.ty = d.ty + ev.clientY - d.sy;
      applyView();
      return;
    }
    if (d.kind === "draw") {
      d.draft.x1 = p.x;
      d.draft.y1 = p.y;
    } else if (d.kind === "move") {
      const o = d.orig, W = state.cur.width, H = state.cur.height;
      const dx = Math.max(-o.x0, Math.min(W - o.x1, p.x - d.p.x));
      const dy = Math.max(-o.y0, Math.min(H - o.y1, p.y - d.p.y));
      Object.assign(state.boxes[d.i], { x0: o.x0 + dx, x1: o.x1 + dx, y0: o.y0 + dy, y1: o.y1 + dy });
    } else if (d.kind === "resize") {
      const b = { ...d.orig };
      if (d.h.includes("w")) b.x0 = p.x;
      if (d.h.includes("e")) b.x1 = p.x;
      if (d.h.includes("n")) b.y0 = p.y;
      if (d.h.includes("s")) b.y1 = p.y;
      Object.assign(state.boxes[d.i], clampBox(b));
    }
    renderBoxes();
  } else {
    renderCross();
  }
}

function onUp() {
  const d = state.drag;
  state.drag = null;
  if (!d || d.kind === "pan") return;
  if (d.kind === "draw") {
    const b = roundBox({ ...d.draft });
    if (b.x1 - b.x0 >= 2 && b.y1 - b.y0 >= 2) {
      const cls = $("class-select").value || state.classes[0];
      if (!cls) { setStatus("no class to give the box: start odkit label with --classes", "error"); }
      else {
        state.boxes.push({ ...b, cls, src: null, difficult: false, truncated: false, iscrowd: false });
        state.selected = state.boxes.length - 1;
      }
    }
    setDrawing(false);
  } else {
    roundBox(state.boxes[d.i]);
  }
  commit(d.before);
  renderBoxes();
}

function onWheel(ev) {
  if (!state.cur) return;
  ev.preventDefault();
  const vp = $("viewport").getBoundingClientRect();
  const mx = ev.clientX - vp.left, my = ev.clientY - vp.top, v = state.view;
  const f = Math.exp(-ev.deltaY * 0.0015);
  const s = Math.max(0.02, Math.min(64, v.s * f)), k = s / v.s;
  state.view = { s, tx: mx - (mx - v.tx) * k, ty: my - (my - v.ty) * k };
  applyView();
}

// ---- keys

function onKey(ev) {
  const tag = ev.target.tagName;
  if (tag === "INPUT" || tag === "TEXTAREA") return;
  const ctrl = ev.ctrlKey || ev.metaKey;
  const key = ev.key.toLowerCase();
  if (ctrl && key === "s") { ev.preventDefault(); save(); return; }
  if (ctrl && key === "z" && !ev.shiftKey) { ev.preventDefault(); undo(); return; }
  if (ctrl && (key === "y" || (key === "z" && ev.shiftKey))) { ev.preventDefault(); redo(); return; }
  if (ctrl || ev.altKey) return;
  if (tag === "SELECT" && !/^[1-9wad]$/.test(key) && key !== "delete") return;
  if (key === "w") { setDrawing(!state.drawing); }
  else if (key === "a") { step(-1); }
  else if (key === "d") { step(1); }
  else if (key === "f") { fit(); }
  else if (key === "delete" || key === "backspace") { deleteSelected(); }
  else if (key === "escape") { setDrawing(false); state.psel = -1; select(-1); }
  else if (key === "enter" && state.psel >= 0) {
    acceptProposals(state.proposals.filter((p) => p.id === state.psel));
  }
  else if (key === "x" && state.psel >= 0) {
    rejectProposals(state.proposals.filter((p) => p.id === state.psel));
  }
  else if (/^[1-9]$/.test(key)) { const c = state.classes[Number(key) - 1]; if (c !== undefined) setClass(c); }
  else return;
  ev.preventDefault();
  if (tag === "SELECT") ev.target.blur();
}

// ---- start

async function start() {
  const vp = $("viewport");
  vp.addEventListener("mousedown", onDown);
  vp.addEventListener("wheel", onWheel, { passive: false });
  vp.addEventListener("mouseleave", () => { state.mouse = null; renderCross(); });
  window.addEventListener("mousemove", onMove);
  window.addEventListener("mouseup", onUp);
  document.addEventListener("keydown", onKey);
  window.addEventListener("resize", fit);
  window.addEventListener("beforeunload", (ev) => { if (state.dirty) { ev.preventDefault(); ev.returnValue = ""; } });
  $("btn-draw").addEventListener("click", () => setDrawing(!state.drawing));
  $("btn-prev").addEventListener("click", () => step(-1));
  $("btn-next").addEventListener("click", () => step(1));
  $("btn-save").addEventListener("click", () => save());
  $("btn-undo").addEventListener("click", undo);
  $("btn-redo").addEventListener("click", redo);
  $("btn-fit").addEventListener("click", fit);
  $("btn-reload").addEventListener("click", () => { if (state.index >= 0) load(state.index); });
  $("filter").addEventListener("change", async () => {
    $("filter").blur();
    if ($("filter").value === "disagrees") await ensureDisagreement();
    renderList();
  });
  $("sort").addEventListener("change", async () => {
    $("sort").blur();
    if ($("sort").value === "disagreement") await ensureDisagreement();
    renderList();
  });
  $("btn-accept-all").addEventListener("click", acceptAll);
  $("btn-reject-all").addEventListener("click", () => rejectProposals(shownProposals()));
  $("accept-threshold").addEventListener("keydown", (ev) => { if (ev.key === "Enter") acceptAll(); });
  $("class-select").addEventListener("change", () => { setClass($("class-select").value); $("class-select").blur(); });
  const r = await api("GET", "/api/images");
  if (!r.ok) { setStatus(r.data.error, "error"); return; }
  state.images = r.data.images;
  state.classes = r.data.classes;
  state.model = r.data.model || null;
  if (state.model) {
    for (const id of ["model-tools", "sort-label", "proposals-panel"]) $(id).hidden = false;
    $("model-name").textContent = state.model.name;
    $("accept-threshold").value = String(Math.max(state.model.conf, 0.5));
    $("model-status").textContent = state.model.error || "";
  } else {
    $("filter-disagrees").remove();
  }
  fillClasses();
  renderList();
  if (state.images.length) await load(0);
  else setStatus("the dataset has no images", "error");
}

start();
