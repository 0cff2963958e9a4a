// prepull dashboard: one server-sent-event stream (/dashboard/frames) carries every change; the
// page keeps the map's cells in typed arrays and redraws only what changed, once per animation frame.
"use strict";

const STATES = ["Pending", "InProgress", "Successful", "Failure", "Unknown", "Online", "Offline"];
const COLORS = ["#9e9e9e", "#2f80ed", "#27ae60", "#eb5757", "#f2c94c", "#27ae60", "#4f4f4f"];
const CLASSES = ["task", "status", "progress", "presence", "summary"];
const ROW = 22;

const $ = (id) => document.getElementById(id);

// Everything the page knows; `window.prepull` for tests and benchmarks.
const S = {
  token: sessionStorage.getItem("prepull-token") || "",
  job: new URLSearchParams(location.search).get("job") || "",
  jobs: [],
  key: null,
  names: [],
  st: new Uint8Array(0),
  done: new Float64Array(0),
  total: new Float64Array(0),
  reasons: new Map(),
  dirty: new Set(),
  allDirty: true,
  traffic: [],
  events: [],
  layout: null,
  frames: 0,
  bytesReceived: 0,
  startedAt: performance.now(),
  frameIntervals: [],
  drawTimes: [],
  refused: false,
  status: "connecting",
  needs: { jobs: true, head: true, nodes: true, failures: true, timeline: true, charts: true },
};
window.prepull = S;

// ---- the stream ----

let abort = null;

function connect() {
  if (abort) abort.abort();
  const mine = new AbortController();
  abort = mine;
  const url = "/dashboard/frames" + (S.job ? "?job=" + encodeURIComponent(S.job) : "");
  const headers = S.token ? { Authorization: "Bearer " + S.token } : {};
  setStatus("connecting");
  fetch(url, { headers, signal: mine.signal, cache: "no-store" })
    .then(async (res) => {
      if (res.status === 401) {
        S.refused = true;
        setStatus("refused");
        showError("Unauthorized: the server refused " + (S.token ? "this token" : "a request without a token") + ". Enter the cloud's bearer token above.");
        return;
      }
      if (!res.ok) {
        showError("HTTP " + res.status + ": " + (await res.text()));
        setStatus("error");
        return retry(mine);
      }
      S.refused = false;
      hideError();
      setStatus("live");
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        S.bytesReceived += value.byteLength;
        buffer += decoder.decode(value, { stream: true });
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
          if (data) apply(JSON.parse(data));
        }
      }
      setStatus("disconnected");
      retry(mine);
    })
    .catch((e) => {
      if (e.name === "AbortError") return;
      setStatus("disconnected");
      retry(mine);
    });
}

function retry(mine) {
  setTimeout(() => { if (abort === mine) connect(); }, 2000);
}

function apply(f) {
  S.frames++;
  S.jobs = f.jobs;
  S.needs.jobs = S.needs.head = true;
  if (f.traffic.length) {
    S.traffic.push(...f.traffic);
    if (S.traffic.length > 300) S.traffic.splice(0, S.traffic.length - 300);
    S.needs.charts = true;
  }
  const m = f.map;
  if (m.names) {
    const n = m.names.length;
    S.key = m.key;
    S.names = m.names;
    S.st = new Uint8Array(n);
    S.done = new Float64Array(n);
    S.total = new Float64Array(n);
    S.reasons = new Map();
    S.allDirty = true;
    S.layout = null;
    $("nodes-spacer").style.height = n * ROW + "px";
  }
  for (const c of m.cells) {
    const i = c[0];
    S.st[i] = c[1];
    S.done[i] = c[2];
    S.total[i] = c[3];
    if (c.length > 4) S.reasons.set(i, c[4]); else S.reasons.delete(i);
    S.dirty.add(i);
  }
  if (m.names || m.cells.length) S.needs.nodes = S.needs.failures = S.needs.head = true;
  if (f.events) {
    S.events = f.events;
    S.needs.timeline = true;
  }
}

// ---- drawing, once per animation frame ----

let lastTick = 0;
function tick(t) {
  if (lastTick) {
    S.frameIntervals.push(t - lastTick);
    if (S.frameIntervals.length > 5000) S.frameIntervals.splice(0, 1000);
  }
  lastTick = t;
  const start = performance.now();
  let drew = false;
  if (S.needs.jobs) { renderJobs(); S.needs.jobs = false; drew = true; }
  if (S.needs.head) { renderHead(); S.needs.head = false; drew = true; }
  if (S.allDirty || S.dirty.size) { drawMap(); drew = true; }
  if (S.needs.nodes) { renderNodes(); S.needs.nodes = false; drew = true; }
  if (S.needs.failures) { renderFailures(); S.needs.failures = false; drew = true; }
  if (S.needs.timeline) { renderTimeline(); S.needs.timeline = false; drew = true; }
  if (S.needs.charts) { drawCharts(); S.needs.charts = false; drew = true; }
  if (drew) {
    S.drawTimes.push(performance.now() - start);
    if (S.drawTimes.length > 5000) S.drawTimes.splice(0, 1000);
  }
  requestAnimationFrame(tick);
}

function renderJobs() {
  const ul = $("jobs");
  const items = S.jobs.map((j) => {
    const li = document.createElement("li");
    li.dataset.job = j.name;
    if (j.name === S.job) li.className = "selected";
    const finished = j.counts.successful + j.counts.failed + j.counts.unknown;
    const pct = j.counts.total ? Math.floor((finished * 100) / j.counts.total) : 100;
    li.innerHTML = '<div><span class="name"></span> <span class="phase"></span></div><div class="muted"></div><div class="mini"><div></div></div>';
    li.querySelector(".name").textContent = j.name;
    li.querySelector(".phase").textContent = j.phase;
    li.querySelector(".phase").classList.add(j.phase);
    li.querySelector(".muted").textContent = finished + " of " + j.counts.total + " nodes, " + pct + " %";
    // Styles through the CSSOM: the page's Content-Security-Policy refuses inline style attributes.
    li.querySelector(".mini div").style.width = pct + "%";
    li.onclick = () => select(j.name);
    return li;
  });
  ul.replaceChildren(...items);
  if (!S.jobs.length) ul.innerHTML = '<li class="muted">no jobs</li>';
}

function selectedJob() { return S.jobs.find((j) => j.name === S.job); }

function renderHead() {
  const j = selectedJob();
  if (!S.job || !j) {
    $("title").textContent = S.job ? S.job + " (not found)" : "Fleet";
    let online = 0;
    for (let i = 0; i < S.st.length; i++) if (S.st[i] === 5) online++;
    $("phase").textContent = "";
    $("phase").className = "phase";
    $("progress").textContent = S.names.length + " nodes";
    $("bar").style.width = (S.names.length ? (online * 100) / S.names.length : 0) + "%";
    $("counts").textContent = online + " online, " + (S.names.length - online) + " offline";
    legend([5, 6]);
    return;
  }
  const c = j.counts;
  const finished = c.successful + c.failed + c.unknown;
  const pct = c.total ? Math.floor((finished * 100) / c.total) : 100;
  $("title").textContent = j.name;
  $("phase").textContent = j.phase;
  $("phase").className = "phase " + j.phase;
  $("progress").textContent = pct + " %";
  $("progress").dataset.percent = pct;
  $("bar").style.width = pct + "%";
  $("counts").textContent = c.total + " nodes: " + c.successful + " successful, " + c.failed + " failed, " + c.unknown + " unknown, " +
    c.inProgress + " in progress, " + c.pending + " pending; " + bytes(j.bytesDone) + " of " + bytes(j.bytesTotal) +
    (j.reason ? "; " + j.reason : "");
  legend([0, 1, 2, 3, 4]);
}

function legend(states) {
  $("legend").replaceChildren(...states.flatMap((s) => {
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = COLORS[s];
    return [swatch, document.createTextNode(STATES[s])];
  }));
}

// The map: n cells of side `size` CSS pixels, `cols` to a row, filling the canvas's width.
function layout() {
  const canvas = $("map");
  const dpr = window.devicePixelRatio || 1;
  const width = canvas.clientWidth, height = canvas.clientHeight;
  const n = Math.max(1, S.names.length);
  let size = Math.max(2, Math.floor(Math.sqrt((width * height) / n)));
  while (size > 2 && Math.floor(width / size) * Math.floor(height / size) < n) size--;
  const cols = Math.max(1, Math.floor(width / size));
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(height * dpr);
  S.layout = { size, cols, dpr, width, height, gap: size >= 5 ? 1 : 0 };
  return S.layout;
}

function drawMap() {
  const canvas = $("map");
  const ctx = canvas.getContext("2d");
  let L = S.layout;
  if (!L || S.allDirty || canvas.clientWidth !== L.width) {
    L = layout();
    ctx.setTransform(L.dpr, 0, 0, L.dpr, 0, 0);
    ctx.fillStyle = "#1d2128";
    ctx.fillRect(0, 0, L.width, L.height);
    for (let i = 0; i < S.names.length; i++) cell(ctx, L, i);
  } else {
    for (const i of S.dirty) cell(ctx, L, i);
  }
  S.dirty.clear();
  S.allDirty = false;
}

function cell(ctx, L, i) {
  ctx.fillStyle = COLORS[S.st[i]];
  ctx.fillRect((i % L.cols) * L.size, Math.floor(i / L.cols) * L.size, L.size - L.gap, L.size - L.gap);
}

// For tests: where cell i is (CSS pixels in the canvas) and the colour drawn there.
S.cellCenter = (i) => {
  const L = S.layout;
  return { x: (i % L.cols) * L.size + (L.size - L.gap) / 2, y: Math.floor(i / L.cols) * L.size + (L.size - L.gap) / 2 };
};
S.cellColors = () => {
  const canvas = $("map");
  const L = S.layout;
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  const out = [];
  for (let i = 0; i < S.names.length; i++) {
    const p = S.cellCenter(i);
    const o = (Math.floor(p.y * L.dpr) * canvas.width + Math.floor(p.x * L.dpr)) * 4;
    out.push([data[o], data[o + 1], data[o + 2]]);
  }
  return out;
};

function cellAt(event) {
  const L = S.layout;
  if (!L) return -1;
  const r = $("map").getBoundingClientRect();
  const col = Math.floor((event.clientX - r.left) / L.size), row = Math.floor((event.clientY - r.top) / L.size);
  if (col < 0 || col >= L.cols || row < 0) return -1;
  const i = row * L.cols + col;
  return i < S.names.length ? i : -1;
}

function describe(i) {
  let text = S.names[i] + "\n" + STATES[S.st[i]];
  if (S.total[i] > 0) text += "\n" + bytes(S.done[i]) + " of " + bytes(S.total[i]);
  if (S.reasons.has(i)) text += "\n" + S.reasons.get(i);
  return text;
}

function renderNodes() {
  const box = $("nodes");
  const first = Math.max(0, Math.floor(box.scrollTop / ROW) - 5);
  const last = Math.min(S.names.length, first + Math.ceil(box.clientHeight / ROW) + 10);
  const rows = [];
  for (let i = first; i < last; i++) {
    const pct = S.total[i] > 0 ? (S.done[i] * 100) / S.total[i] : S.st[i] === 2 ? 100 : 0;
    const row = document.createElement("div");
    row.className = "node-row";
    row.style.position = "absolute";
    row.style.top = i * ROW + "px";
    row.style.left = "0";
    row.style.right = "0";
    row.innerHTML = '<span></span><span></span><div class="nbar"><div></div></div><span class="muted"></span>';
    const fill = row.querySelector(".nbar div");
    fill.style.width = pct.toFixed(1) + "%";
    fill.style.background = COLORS[S.st[i]];
    row.children[0].textContent = S.names[i];
    row.children[1].textContent = STATES[S.st[i]];
    row.children[3].textContent = S.reasons.get(i) || (S.total[i] > 0 ? bytes(S.done[i]) + " of " + bytes(S.total[i]) : "");
    rows.push(row);
  }
  $("nodes-rows").replaceChildren(...rows);
  $("nodes-count").textContent = "(" + S.names.length + ")";
}

function renderFailures() {
  const items = [];
  for (const [i, reason] of S.reasons) {
    if (items.length >= 200) break;
    const li = document.createElement("li");
    li.dataset.node = S.names[i];
    li.textContent = S.names[i] + " " + STATES[S.st[i]] + ": " + reason;
    items.push(li);
  }
  $("failures").replaceChildren(...items);
  $("failures-count").textContent = "(" + S.reasons.size + ")";
}

function renderTimeline() {
  const items = S.events.map((e) => {
    const li = document.createElement("li");
    li.textContent = new Date(e.timeMs).toISOString().slice(11, 19) + "  " + e.reason + ": " + e.message + (e.count > 1 ? " (x" + e.count + ")" : "");
    return li;
  });
  $("timeline").replaceChildren(...items);
}

function drawCharts() {
  const box = $("charts");
  const series = CLASSES.map((c) => ({ name: c, values: S.traffic.map((t) => t.classes[c] ? t.classes[c][0] : 0) }));
  series.push({ name: "broker in", values: S.traffic.map((t) => t.brokerMessagesIn) });
  series.push({ name: "broker out", values: S.traffic.map((t) => t.brokerMessagesOut) });
  if (box.children.length !== series.length) {
    box.replaceChildren(...series.map((s) => {
      const d = document.createElement("div");
      d.className = "chart";
      d.innerHTML = '<div class="label"><span></span><span></span></div><canvas width="300" height="40"></canvas>';
      d.querySelector("span").textContent = s.name;
      return d;
    }));
  }
  series.forEach((s, k) => {
    const d = box.children[k];
    const known = s.values.filter((v) => v !== null && v !== undefined);
    const now = known.length ? known[known.length - 1] : null;
    d.querySelectorAll("span")[1].textContent = now === null ? "-" : rate(now) + "/s";
    const canvas = d.querySelector("canvas");
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const max = Math.max(1, ...known);
    ctx.strokeStyle = "#2f80ed";
    ctx.beginPath();
    let started = false;
    s.values.forEach((v, x) => {
      if (v === null || v === undefined) return;
      const px = (x * canvas.width) / 300, py = canvas.height - 2 - (v / max) * (canvas.height - 4);
      if (started) ctx.lineTo(px, py); else { ctx.moveTo(px, py); started = true; }
    });
    ctx.stroke();
  });
}

// ---- formatting ----

function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let u = 0;
  while (n >= 1024 && u < units.length - 1) { n /= 1024; u++; }
  return (u ? n.toFixed(1) : String(n)) + " " + units[u];
}
function rate(v) { return v >= 100 ? v.toFixed(0) : v.toFixed(1); }

// ---- controls ----

function setStatus(s) { S.status = s; const el = $("conn"); el.textContent = s; el.className = "conn " + s; }
function showError(text) { const el = $("error"); el.textContent = text; el.hidden = false; }
function hideError() { $("error").hidden = true; }

function select(job) {
  S.job = job;
  const url = new URL(location.href);
  if (job) url.searchParams.set("job", job); else url.searchParams.delete("job");
  history.replaceState(null, "", url);
  S.needs.jobs = S.needs.head = true;
  $("pinned").textContent = "";
  connect();
}

$("token-form").addEventListener("submit", (e) => {
  e.preventDefault();
  S.token = $("token").value.trim();
  sessionStorage.setItem("prepull-token", S.token);
  connect();
});
$("fleet-view").onclick = () => select("");
$("nodes").addEventListener("scroll", () => { S.needs.nodes = true; });
$("map").addEventListener("mousemove", (e) => {
  const i = cellAt(e), tip = $("tooltip");
  if (i < 0) { tip.hidden = true; return; }
  tip.textContent = describe(i);
  tip.style.left = e.offsetX + 14 + "px";
  tip.style.top = e.offsetY + 14 + "px";
  tip.hidden = false;
});
$("map").addEventListener("mouseleave", () => { $("tooltip").hidden = true; });
$("map").addEventListener("click", (e) => {
  const i = cellAt(e);
  $("pinned").textContent = i < 0 ? "" : describe(i).replace(/\n/g, "  |  ");
});
window.addEventListener("resize", () => { S.allDirty = true; S.needs.nodes = true; });

connect();
requestAnimationFrame(tick);
