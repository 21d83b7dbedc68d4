// The dashboard's script: plain DOM, no framework. Every value from a request is put in with textContent,
// never as HTML: paths, headers and bodies are whatever clients sent.
"use strict";

const ADMIN = "/__mock__";
const POLL_MS = 500; // the journal, while the page is visible
const RULES_MS = 1000; // fault and reply counters, while their tab is open
const STATE_MS = 1500; // the open project, and its open thread
const LIVE_RUN_MS = 300; // the open thread while one of its runs is active
const ROWS_KEPT = 1000;
const ACTIVE = new Set(["queued", "in_progress", "requires_action", "cancelling"]);

// ---- the admin token: taken from ?token= once, kept for the tab, sent as a header ----------------------
const token = (() => {
  const url = new URL(location.href);
  const given = url.searchParams.get("token");
  if (given) {
    sessionStorage.setItem("threads-mock-token", given);
    url.searchParams.delete("token");
    history.replaceState(null, "", url.pathname + url.search + url.hash);
  }
  return sessionStorage.getItem("threads-mock-token");
})();

class AdminError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function admin(path, options = {}) {
  const headers = { ...(options.headers || {}) };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const answer = await fetch(ADMIN + path, { ...options, headers });
  const text = await answer.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = text; }
  if (!answer.ok) {
    const message = body && body.error ? body.error.message : `${answer.status} ${text}`;
    throw new AdminError(answer.status, message);
  }
  return body;
}

// ---- DOM helpers ----------------------------------------------------------------------------------------
function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const $ = (selector) => document.querySelector(selector);
const json = (value) => JSON.stringify(value, null, 2);
const pre = (value) => h("pre", null, typeof value === "string" ? value : json(value));
const kv = (pairs) => h("dl", { class: "kv" }, pairs.filter(([, v]) => v !== undefined && v !== null && v !== "")
  .map(([k, v]) => [h("dt", null, k), h("dd", null, typeof v === "object" ? JSON.stringify(v) : v)]));
const time = (seconds) => new Date(seconds * 1000).toLocaleTimeString([], { hour12: false }) +
  "." + String(Math.floor((seconds % 1) * 1000)).padStart(3, "0");
const statusClass = (status) => (status === null ? "pending" : `s${String(status)[0]}`);
const bytes = (n) => (n === null || n === undefined ? "∞" : n < 1024 ? `${n} B` : n < 1048576 ?
  `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(1)} MiB`);

function showError(node, error) {
  node.textContent = error ? error.message || String(error) : "";
  node.hidden = !error;
}

// ---- tabs ------------------------------------------------------------------------------------------------
let tab = "requests";
function openTab(name) {
  tab = name;
  for (const button of document.querySelectorAll("button.tab")) button.classList.toggle("active", button.dataset.tab === name);
  for (const panel of document.querySelectorAll(".panel")) panel.classList.toggle("active", panel.id === name);
  if (name === "rules") refreshRules();
  if (name === "state") refreshState();
}
for (const button of document.querySelectorAll("button.tab")) button.addEventListener("click", () => openTab(button.dataset.tab));

// ---- requests: the journal after a cursor ---------------------------------------------------------------
const journal = { rows: new Map(), cursor: null, newest: 0, selected: null, seen: new Set() };

function filterQuery() {
  const query = new URLSearchParams();
  for (const [name, value] of new FormData($("#filters"))) if (value) query.set(name, value);
  return query;
}

function restartJournal() {
  journal.rows.clear();
  journal.cursor = null;
  journal.newest = 0;
  renderJournal();
  pollJournal();
}

let polling = false;
async function pollJournal() {
  if (polling || $("#f-pause").checked) return;
  polling = true;
  try {
    const query = filterQuery();
    if (journal.cursor === null) query.set("limit", "300");
    else query.set("after", String(journal.cursor));
    const page = await admin(`/dashboard/requests?${query}`);
    if (page.reset) {
      // The journal was emptied (a reset, or DELETE /__mock__/requests): its numbers start again.
      journal.rows.clear();
      journal.cursor = null;
      journal.newest = 0;
      polling = false;
      return pollJournal();
    }
    for (const row of page.data) journal.rows.set(row.id, row);
    journal.newest = Math.max(journal.newest, page.last_id);
    // The cursor stays below the oldest request still in flight, so that its ending is fetched too.
    let cursor = journal.newest;
    for (const row of journal.rows.values()) if (!row.completed && row.id <= cursor) cursor = row.id - 1;
    journal.cursor = cursor;
    if (journal.rows.size > ROWS_KEPT) {
      const ids = [...journal.rows.keys()].sort((a, b) => a - b);
      for (const id of ids.slice(0, ids.length - ROWS_KEPT)) journal.rows.delete(id);
    }
    if (page.data.length || !journal.rendered) renderJournal();
  } catch (error) {
    console.warn("journal poll:", error.message);
  } finally {
    polling = false;
  }
}

function renderJournal() {
  journal.rendered = true;
  const body = $("#journal tbody");
  const rows = [...journal.rows.values()].sort((a, b) => b.id - a.id);
  body.replaceChildren(...rows.map((row) => {
    const fresh = !journal.seen.has(row.id);
    journal.seen.add(row.id);
    return h("tr", {
      dataset: { id: row.id, status: row.status ?? "" },
      class: [fresh ? "fresh" : "", row.id === journal.selected ? "selected" : ""].join(" ").trim() || null,
      onclick: () => openExchange(row.id),
    },
    h("td", null, row.id),
    h("td", null, time(row.started_at)),
    h("td", null, row.method),
    h("td", { class: "path" }, row.path + (row.query ? `?${row.query}` : "")),
    h("td", { class: statusClass(row.status) }, row.status ?? (row.completed ? "none" : "…")),
    h("td", null, row.fault || ""),
    h("td", null, row.duration_ms === null ? "" : row.duration_ms.toFixed(1)),
    h("td", null, row.project ? shortKey(row.project) : ""));
  }));
  $("#journal-empty").hidden = rows.length > 0;
  $("#row-count").textContent = `${rows.length} shown`;
}

const shortKey = (key) => (key.length > 18 ? `${key.slice(0, 8)}…${key.slice(-6)}` : key);

async function openExchange(id) {
  journal.selected = id;
  for (const tr of document.querySelectorAll("#journal tbody tr")) tr.classList.toggle("selected", Number(tr.dataset.id) === id);
  const pane = $("#exchange");
  pane.hidden = false;
  pane.replaceChildren(h("p", { class: "muted" }, `request ${id}…`));
  let entry;
  try {
    entry = await admin(`/dashboard/requests/${id}`);
  } catch (error) {
    pane.replaceChildren(h("p", { class: "error" }, error.message));
    return;
  }
  const target = entry.path + (entry.query ? `?${entry.query}` : "");
  pane.replaceChildren(
    h("h2", null, `${entry.method} ${target}`),
    whyBox(entry),
    h("h3", null, "Response"),
    kv([
      ["status", entry.status ?? (entry.completed ? "no answer sent" : "in flight")],
      ["x-request-id", entry.request_id],
      ["duration", entry.duration_ms === null ? "" : `${entry.duration_ms} ms`],
      ["fault", entry.fault],
    ]),
    h("details", null, h("summary", null, "headers"), kv(Object.entries(entry.response.headers))),
    entry.response.body === null ? h("p", { class: "muted" }, "(no body)") : pre(entry.response.body),
    h("h3", null, "Request"),
    kv([["project", entry.project], ["started", new Date(entry.started_at * 1000).toISOString()],
      ["body size", `${entry.body_size} bytes`]]),
    h("details", { open: true }, h("summary", null, "headers"),
      kv(Object.entries(entry.headers).map(([k, v]) => [k, k === "authorization" ? mask(v) : v]))),
    h("h3", null, "Body"),
    entry.body === null ? h("p", { class: "muted" }, "(none)") : pre(entry.body),
  );
}

const mask = (value) => value.replace(/(\S{4})\S+(\S{4})$/, "$1…$2");

function whyBox(entry) {
  const why = entry.why;
  if (!why) return null;
  const rule = why.rule;
  return h("div", { class: "why", id: "why" },
    h("strong", null, why.source === "contract" ? `Refused by the contract (${why.stage})` : `Why: ${why.source}`),
    h("div", { class: "why-message" }, why.message),
    why.source === "contract" ? kv([
      ["field", (rule && rule.field) || why.param || (why.stage === "body" ? "body" : why.stage)],
      ["rule", rule ? `${rule.keyword}${rule.value === null || rule.value === undefined ? "" : `: ${
        typeof rule.value === "string" ? rule.value : JSON.stringify(rule.value)}`}` : ""],
      ["in the contract", rule && rule.schema_path ? `#/${rule.schema_path}` : ""],
      ["code", why.code],
    ]) : null);
}

$("#filters").addEventListener("input", () => { clearTimeout(journal.typing); journal.typing = setTimeout(restartJournal, 250); });
$("#filters").addEventListener("submit", (event) => { event.preventDefault(); restartJournal(); });
$("#f-pause").addEventListener("change", () => pollJournal());
$("#clear-journal").addEventListener("click", async () => {
  await admin("/requests", { method: "DELETE" });
  $("#exchange").hidden = true;
  restartJournal();
});

// ---- fault and reply rules -------------------------------------------------------------------------------
function faultText(rule) {
  return Object.entries(rule).filter(([k]) => !["id", "match", "matched", "applied"].includes(k))
    .map(([k, v]) => (v === true ? k : `${k}=${typeof v === "string" && /[\s;,]/.test(v) ? JSON.stringify(v) : v}`))
    .join("; ");
}

async function refreshRules() {
  try {
    const [faults, replies] = await Promise.all([admin("/faults"), admin("/replies")]);
    $("#faults tbody").replaceChildren(...faults.data.map((rule) => h("tr", { dataset: { id: rule.id } },
      h("td", null, rule.id), h("td", null, rule.match), h("td", null, h("code", null, faultText(rule))),
      h("td", { class: "matched" }, rule.matched), h("td", { class: "applied" }, rule.applied),
      h("td", null, h("button", { class: "quiet", onclick: () => removeFault(rule.id) }, "remove")))));
    if (!faults.data.length) $("#faults tbody").append(h("tr", null, h("td", { colspan: 6, class: "muted" }, "No fault rules.")));
    $("#replies tbody").replaceChildren(...replies.data.map((rule, i) => {
      const rest = Object.fromEntries(Object.entries(rule).filter(([k, v]) =>
        !["match", "assistant", "used"].includes(k) && v !== null && v !== false && !(Array.isArray(v) && !v.length)));
      return h("tr", null, h("td", null, i + 1), h("td", null, rule.match ?? "(any)"), h("td", null, rule.assistant ?? ""),
        h("td", null, h("code", null, JSON.stringify(rest))), h("td", null, rule.used));
    }));
    if (!replies.data.length) $("#replies tbody").append(h("tr", null, h("td", { colspan: 5, class: "muted" }, "No reply rules: the assistant quotes the message.")));
  } catch (error) {
    console.warn("rules:", error.message);
  }
}

async function removeFault(id) {
  try { await admin(`/faults/${encodeURIComponent(id)}`, { method: "DELETE" }); } catch (error) { showError($("#fault-error"), error); }
  refreshRules();
}

$("#fault-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const where = $("#fault-where").value.trim();
  const fault = $("#fault-text").value.trim();
  try {
    await admin("/faults", { method: "POST", body: JSON.stringify({ rule: where ? `${where}: ${fault}` : fault }) });
    showError($("#fault-error"), null);
    $("#fault-text").value = "";
  } catch (error) {
    showError($("#fault-error"), error);
  }
  refreshRules();
});
$("#fault-clear").addEventListener("click", async () => { await admin("/faults", { method: "DELETE" }); refreshRules(); });
$("#mock-reset").addEventListener("click", async () => {
  if (!confirm("Reset the mock: every thread, file and runtime rule, the journal and the counters?")) return;
  await admin("/reset", { method: "POST" });
  restartJournal();
  refreshRules();
});

$("#reply-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  let rule;
  try {
    rule = JSON.parse($("#reply-text").value);
  } catch (error) {
    showError($("#reply-error"), new Error(`Not JSON: ${error.message}`));
    return;
  }
  try {
    await admin("/replies", { method: "POST", body: JSON.stringify(rule) });
    showError($("#reply-error"), null);
    $("#reply-text").value = "";
  } catch (error) {
    showError($("#reply-error"), error);
  }
  refreshRules();
});
$("#reply-clear").addEventListener("click", async () => { await admin("/replies", { method: "DELETE" }); refreshRules(); });

// ---- state -----------------------------------------------------------------------------------------------
const state = { project: null, thread: null, features: [], runs: new Map() };

function gauge(label, value, used, limit) {
  const share = limit ? Math.min(100, (100 * used) / limit) : 0;
  return h("div", { class: "gauge" }, label, h("b", null, value),
    limit ? h("div", { class: "meter", title: `${share.toFixed(1)}%` }, h("i", { style: `width:${share}%` })) : null);
}

async function refreshProjects() {
  const found = await admin("/dashboard/projects");
  state.features = found.admin || [];
  for (const select of [$("#s-project"), $("#f-project")]) {
    const current = select.value;
    const keep = select.id === "f-project" ? [h("option", { value: "" }, "any project")] : [];
    const options = found.data.map((p) => h("option", { value: p }, shortKey(p)));
    if (current && !found.data.includes(current)) options.push(h("option", { value: current }, shortKey(current)));
    select.replaceChildren(...keep, ...options);
    select.value = current || (select.id === "s-project" && found.data[0]) || "";
  }
}

async function refreshState() {
  try {
    await refreshProjects();
    const project = $("#s-project-other").value.trim() || $("#s-project").value;
    if (project !== state.project) {
      state.project = project;
      state.thread = null;
      $("#thread").hidden = true;
    }
    if (!project) {
      $("#threads").replaceChildren(h("li", { class: "muted" }, "No project yet: no API key has been used."));
      return;
    }
    const view = await admin(`/dashboard/state?project=${encodeURIComponent(project)}`);
    renderState(view);
    await renderFamilies(project);
    if (state.thread) await refreshThread();
  } catch (error) {
    console.warn("state:", error.message);
  }
}

function renderState(view) {
  const { stats, memory, journal: kept } = view;
  $("#gauges").replaceChildren(
    gauge("threads (this project)", view.thread_count),
    gauge("assistants", view.assistants.length),
    gauge("files", view.files.length),
    gauge("vector stores", view.vector_stores.length),
    gauge("threads (all) / max", `${stats.threads} / ${stats.max_threads}`, stats.threads, stats.max_threads),
    gauge("file bytes / max", `${bytes(stats.file_bytes)} / ${bytes(stats.max_file_bytes)}`, stats.file_bytes, stats.max_file_bytes),
    gauge("store memory / share", `${bytes(memory.store.bytes)} / ${bytes(memory.store.max_bytes)}`, memory.store.bytes, memory.store.max_bytes),
    gauge("journal / share", `${kept.entries} req, ${bytes(memory.journal.bytes)} / ${bytes(memory.journal.max_bytes)}`,
      memory.journal.bytes, memory.journal.max_bytes),
    gauge("evicted threads · files", `${stats.evicted} · ${stats.files_evicted}`),
  );
  $("#thread-count").textContent = `(${view.thread_count}, newest first)`;
  $("#threads").replaceChildren(...view.threads.map((thread) => h("li", {
    dataset: { id: thread.id }, class: thread.id === state.thread ? "selected" : null,
    onclick: () => { state.thread = thread.id; refreshThread(); },
  }, `${thread.id}  ${new Date(thread.created_at * 1000).toLocaleTimeString([], { hour12: false })}` +
    (thread.metadata && Object.keys(thread.metadata).length ? `  ${JSON.stringify(thread.metadata)}` : ""))));
  if (!view.threads.length) $("#threads").append(h("li", { class: "muted" }, "No threads."));
  const others = [["Assistants", view.assistants], ["Files", view.files], ["Vector stores", view.vector_stores]];
  $("#others").replaceChildren(...others.map(([title, items]) => objectList(title, items)));
}

function objectList(title, items) {
  return h("details", { open: items.length > 0 && items.length <= 5 },
    h("summary", null, `${title} (${items.length})`),
    items.map((item) => h("details", null,
      h("summary", null, `${item.id}${item.name ? `  ${item.name}` : item.filename ? `  ${item.filename}` : ""}`), pre(item))));
}

async function renderFamilies(project) {
  // Conversations and responses where the admin API serves them (it lists what it serves).
  const wanted = [["conversations", "Conversations"], ["responses", "Responses"]].filter(([path]) => state.features.includes(path));
  const lists = await Promise.all(wanted.map(async ([path, title]) => {
    try {
      const found = await admin(`/${path}?project=${encodeURIComponent(project)}`);
      return objectList(title, found.data || []);
    } catch (error) {
      return h("p", { class: "muted" }, `${title}: ${error.message}`);
    }
  }));
  $("#others").append(...lists);
}

function contentText(message) {
  return (message.content || []).map((part) => {
    if (part.type === "text") return part.text.value;
    if (part.type === "image_file") return `[image ${part.image_file.file_id}]`;
    return `[${part.type}]`;
  }).join("\n");
}

// A run that moves shows what its stream sends: the differences between two looks at the run are the events.
function runEvents(run) {
  const before = state.runs.get(run.id);
  const events = before ? before.events : [];
  const stepStatus = new Map((before ? before.steps : []).map((s) => [s.id, s.status]));
  if (!before) events.push(`thread.run.${run.status}`);
  else if (before.status !== run.status) events.push(`thread.run.${run.status}`);
  for (const step of run.steps) {
    if (!stepStatus.has(step.id)) events.push(`thread.run.step.created  ${step.type}`);
    if (stepStatus.get(step.id) !== step.status) events.push(`thread.run.step.${step.status}`);
  }
  state.runs.set(run.id, { status: run.status, steps: run.steps.map((s) => ({ id: s.id, status: s.status })), events });
  return events;
}

// ---- streams: the events a streamed run sends, as the server tells them (dashboard/streams.py) ----------
const streams = { cursor: 0, thread: null, byRun: new Map() };

const eventLine = (e) => h("div", { class: "event" }, h("span", { class: "muted" }, time(e.at)), `  ${e.event}  `,
  h("b", null, e.text));

function streamed(run) {
  const events = streams.byRun.get(run.id);
  if (!events) return null;
  const box = h("div", { class: "events stream" }, events.map(eventLine));
  return h("details", { open: true }, h("summary", null, "stream events, as sent"), box);
}

async function pollStreams() {
  if (tab !== "state" || !state.thread) return;
  if (streams.thread !== state.thread) {
    streams.thread = state.thread;
    streams.cursor = 0;
    streams.byRun.clear();
  }
  try {
    const found = await admin(`/dashboard/streams?after=${streams.cursor}&thread=${encodeURIComponent(state.thread)}`);
    let unseen = false;
    for (const e of found.data) {
      streams.cursor = Math.max(streams.cursor, e.seq);
      if (!streams.byRun.has(e.run_id)) streams.byRun.set(e.run_id, []);
      streams.byRun.get(e.run_id).push(e);
      const box = document.querySelector(`.run[data-id="${CSS.escape(e.run_id)}"] .stream`);
      if (box) {
        box.append(eventLine(e));
        box.scrollTop = box.scrollHeight;
      } else unseen = true;
    }
    if (unseen) refreshThread();
  } catch (error) {
    console.warn("streams:", error.message);
  }
}

let threadTimer = null;
async function refreshThread() {
  clearTimeout(threadTimer);
  if (!state.thread || !state.project) return;
  for (const li of document.querySelectorAll("#threads li")) li.classList.toggle("selected", li.dataset.id === state.thread);
  let view;
  try {
    view = await admin(`/dashboard/threads/${encodeURIComponent(state.thread)}?project=${encodeURIComponent(state.project)}`);
  } catch (error) {
    $("#thread").hidden = false;
    $("#thread").replaceChildren(h("p", { class: "error" }, error.message));
    return;
  }
  const live = view.runs.some((run) => ACTIVE.has(run.status));
  const pane = $("#thread");
  pane.hidden = false;
  pane.replaceChildren(
    h("h2", null, view.thread.id),
    kv([["created", new Date(view.thread.created_at * 1000).toISOString()], ["metadata", view.thread.metadata],
      ["tool_resources", view.thread.tool_resources]]),
    h("h3", null, `Messages (${view.messages.length}${view.more_messages ? ", the newest" : ""})`),
    h("div", { id: "messages" }, view.messages.map((message) => h("div", { class: `message ${message.role}`, dataset: { id: message.id } },
      h("span", { class: "role" }, message.role), h("span", { class: "muted" }, `  ${message.id}${message.run_id ? `  ${message.run_id}` : ""}  ${message.status || ""}`),
      h("div", { class: "text" }, contentText(message))))),
    h("h3", null, `Runs (${view.runs.length})${live ? "  live" : ""}`),
    h("div", { id: "runs" }, view.runs.map((run) => {
      const events = runEvents(run);
      return h("div", { class: "run", dataset: { id: run.id, status: run.status } },
        h("div", null, h("b", null, run.id), `  ${run.status}  ${run.assistant_id}`),
        run.last_error ? h("div", { class: "error" }, `${run.last_error.code}: ${run.last_error.message}`) : null,
        streamed(run) || h("details", { open: ACTIVE.has(run.status) }, h("summary", null, `status as seen (${events.length})`),
          h("div", { class: "events" }, events.map((e) => h("div", null, e)))),
        h("details", null, h("summary", null, `steps (${run.steps.length})`),
          run.steps.map((step) => h("details", null, h("summary", null, `${step.id}  ${step.type}  ${step.status}`), pre(step.step_details)))),
        h("details", null, h("summary", null, "run object"), pre(run)));
    })),
  );
  threadTimer = setTimeout(() => { if (tab === "state") refreshThread(); }, live ? LIVE_RUN_MS : STATE_MS);
}

$("#s-project").addEventListener("change", () => { $("#s-project-other").value = ""; refreshState(); });
$("#s-project-other").addEventListener("change", refreshState);
$("#state-form").addEventListener("submit", (event) => { event.preventDefault(); refreshState(); });

// ---- the header: the server's health, and the loops ---------------------------------------------------
async function refreshHealth() {
  try {
    const health = await admin("/health");
    const { store } = health;
    $("#health").textContent = `pid ${health.pid} · ${store.threads} threads · journal ${health.memory.journal.entries} requests`;
  } catch (error) {
    $("#health").textContent = error.message;
  }
}

function every(ms, work) {
  const loop = async () => {
    if (document.visibilityState === "visible") await work();
    setTimeout(loop, ms);
  };
  loop();
}

every(POLL_MS, pollJournal);
every(RULES_MS, () => (tab === "rules" ? refreshRules() : null));
every(STATE_MS, () => (tab === "state" ? refreshState() : null));
every(5000, async () => {
  await refreshHealth();
  // A project the filter does not offer yet (a new API key in the journal).
  const offered = new Set([...$("#f-project").options].map((o) => o.value));
  if ([...journal.rows.values()].some((row) => row.project && !offered.has(row.project))) {
    await refreshProjects().catch((error) => console.warn("projects:", error.message));
  }
});
every(LIVE_RUN_MS, pollStreams);
refreshProjects().catch((error) => console.warn("projects:", error.message));
if (location.hash.length > 1) openTab(location.hash.slice(1));
