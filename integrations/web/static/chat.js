// The chat page: streams answers from /api/ask/stream (server-sent events over fetch), renders
// tables, charts, citations and write proposals, and keeps the conversation list. Plain DOM,
// no build step; every server string goes in through textContent, never innerHTML.
"use strict";

const NUMERIC = new Set(["int", "float", "money", "pct"]);
const MAX_ROWS = 50;
let threadId = null;
let busy = false;

const $ = (sel) => document.querySelector(sel);
const el = (tag, props = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
};

async function api(path, options = {}) {
  const response = await fetch(path, {
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    ...options,
  });
  if (response.status === 401) {
    window.location.assign("/");  // the session ended: back to the login form
    throw new Error("not signed in");
  }
  return response;
}

function scrollDown() {
  const box = $("#messages");
  box.scrollTop = box.scrollHeight;
}

function userBubble(question) {
  const msg = el("div", { class: "msg user" }, el("div", { class: "bubble", text: question }));
  $("#messages").append(msg);
  return msg;
}

function assistantBubble() {
  const bubble = el("div", { class: "bubble" }, el("div", { class: "answer" }));
  const msg = el("div", { class: "msg assistant" }, bubble);
  $("#messages").append(msg);
  return msg;
}

function renderTable(table) {
  const head = el("tr");
  table.headers.forEach((h, i) => head.append(el("th", { class: NUMERIC.has(table.columns[i].kind) ? "num" : "", text: h })));
  const body = el("tbody");
  for (const row of table.rows.slice(0, MAX_ROWS)) {
    const tr = el("tr");
    row.forEach((cell, i) => tr.append(el("td", { class: NUMERIC.has(table.columns[i].kind) ? "num" : "", text: cell })));
    body.append(tr);
  }
  const wrap = el("div", { class: "table-wrap" }, el("table", { class: "data" }, el("thead", {}, head), body));
  const total = table.total_rows || table.rows.length;
  const shown = Math.min(table.rows.length, MAX_ROWS);
  if (total > shown) wrap.append(el("div", { class: "caption", text: `Showing ${shown} of ${total} rows.` }));
  return wrap;
}

function renderProposal(p) {
  const head = p.status === "pending" ? "Proposed change: nothing is written until you confirm" : "Proposed change";
  const box = el("div", { class: "proposal", "data-write": p.id },
    el("div", { class: "proposal-head", text: head }), el("div", { text: p.summary }));
  const outcome = el("div", { class: "outcome" });
  if (p.status === "pending") {
    const confirm = el("button", { type: "button", class: "primary confirm", text: "Confirm" });
    const cancel = el("button", { type: "button", class: "cancel", text: "Cancel" });
    const actions = el("div", { class: "actions" }, confirm, cancel);
    const decide = async (url) => {
      confirm.disabled = cancel.disabled = true;
      const response = await api(url, { method: "POST" });
      const data = await response.json();
      actions.remove();
      outcome.className = `outcome ${data.status || "failed"}`;
      outcome.textContent = response.ok ? data.summary : (data.detail || "The write failed.");
      if (data.table) outcome.append(renderTable(data.table));
      if (response.ok && data.undo_url) box.append(undoActions(data.undo_url, outcome));
    };
    confirm.addEventListener("click", () => decide(p.confirm_url));
    cancel.addEventListener("click", () => decide(p.cancel_url));
    box.append(actions);
  } else {
    outcome.className = `outcome ${p.status}`;
    outcome.textContent = ["done", "undone"].includes(p.status) ? p.outcome : `${p.status}${p.outcome ? ": " + p.outcome : ""}`;
  }
  box.append(outcome);
  if (p.status === "done" && p.undo_url) box.append(undoActions(p.undo_url, outcome));
  return box;
}

// Undo is a write of its own: one click runs it (the server refuses it if the owner changed since).
function undoActions(url, outcome) {
  const undo = el("button", { type: "button", class: "undo", text: "Undo" });
  const actions = el("div", { class: "actions" }, undo);
  undo.addEventListener("click", async () => {
    undo.disabled = true;
    const response = await api(url, { method: "POST" });
    const data = await response.json();
    const ok = response.ok && data.status === "undone";
    const note = el("div", { class: `undo-outcome ${ok ? "undone" : "failed"}`,
      text: ok ? `Undone: ${data.summary}` : (data.summary || data.detail || "The undo failed.") });
    actions.replaceWith(note);
    if (ok) outcome.classList.add("undone");
  });
  return actions;
}

function renderReply(msg, reply) {
  const bubble = msg.querySelector(".bubble");
  bubble.querySelector(".answer").textContent = reply.answer;
  bubble.querySelector(".status")?.remove();
  if (reply.error) msg.classList.add("reply-error");
  for (const table of reply.tables) bubble.append(renderTable(table));
  for (const chart of reply.charts) {
    bubble.append(el("figure", { class: "chart" },
      el("img", { src: chart.url, alt: chart.title, loading: "lazy" }),
      el("figcaption", { text: chart.title })));
  }
  const linked = reply.citations.filter((c) => c.url);
  if (linked.length) {
    const cites = el("div", { class: "citations" }, el("span", { class: "muted", text: "Sources:" }));
    for (const c of linked.slice(0, 30)) cites.append(el("a", { href: c.url, class: "citation", text: c.label }));
    bubble.append(cites);
  }
  for (const p of reply.proposals) bubble.append(renderProposal(p));
  const tools = reply.tool_calls.map((c) => c.name).join(", ");
  bubble.append(el("div", { class: "meta", text: `${reply.model} · ${Math.round(reply.latency_ms)} ms${tools ? " · " + tools : ""}` }));
}

// Server-sent events arrive as "event: x\ndata: {...}\n\n" blocks, possibly split across chunks.
async function* sseEvents(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) event = line.slice(7);
        else if (line.startsWith("data: ")) data.push(line.slice(6));
      }
      yield { event, data: data.length ? JSON.parse(data.join("\n")) : null };
    }
  }
}

async function ask(question) {
  if (busy || !question.trim()) return;
  busy = true;
  $("#send").disabled = true;
  $("#welcome")?.remove();
  userBubble(question);
  const msg = assistantBubble();
  const answer = msg.querySelector(".answer");
  answer.before(el("div", { class: "status", text: "Thinking" }));
  scrollDown();
  try {
    const response = await api("/api/ask/stream", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify({ question, thread_id: threadId }),
    });
    if (!response.ok) {
      const data = await response.json().catch(() => ({}));
      throw new Error(typeof data.detail === "string" ? data.detail : `the server answered ${response.status}`);
    }
    for await (const { event, data } of sseEvents(response)) {
      if (event === "thread") {
        threadId = data.thread_id;
      } else if (event === "token") {
        answer.textContent += data.text;
      } else if (event === "reply") {
        renderReply(msg, data);
      } else if (event === "error") {
        throw new Error(data.detail);
      }
      scrollDown();
    }
  } catch (err) {
    msg.querySelector(".status")?.remove();
    msg.classList.add("reply-error");
    answer.textContent = `Sorry, that failed: ${err.message}`;
  } finally {
    busy = false;
    $("#send").disabled = false;
    scrollDown();
    loadThreads();
  }
}

async function loadThreads() {
  const response = await api("/api/threads");
  if (!response.ok) return;
  const list = $("#threads");
  list.replaceChildren();
  for (const t of await response.json()) {
    const item = el("li", { "data-thread": t.id, title: t.title, text: t.title });
    if (t.id === threadId) item.classList.add("active");
    item.addEventListener("click", () => openThread(t.id));
    list.append(item);
  }
}

async function openThread(id) {
  const response = await api(`/api/threads/${id}`);
  if (!response.ok) return;
  const detail = await response.json();
  threadId = id;
  $("#messages").replaceChildren();
  for (const m of detail.messages) {
    userBubble(m.question);
    renderReply(assistantBubble(), m.reply);
  }
  scrollDown();
  loadThreads();
}

function newThread() {
  threadId = null;
  window.location.assign("/");
}

document.addEventListener("DOMContentLoaded", () => {
  $("#ask-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const box = $("#question");
    const question = box.value;
    box.value = "";
    ask(question);
  });
  $("#question").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      $("#ask-form").requestSubmit();
    }
  });
  for (const button of document.querySelectorAll(".example")) {
    button.addEventListener("click", () => ask(button.dataset.question));
  }
  $("#new-thread").addEventListener("click", newThread);
  loadThreads();
});
