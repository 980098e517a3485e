// strmsync panel: small progressive enhancements over server-rendered pages.
// Every URL is built from the page's base path, so it all works under HA ingress.
"use strict";

const FINAL = ["succeeded", "partial", "failed", "cancelled"];
const base = document.body.dataset.base || "";
const csrf = document.querySelector('meta[name="csrf-token"]').content;

async function api(path, options = {}) {
  const response = await fetch(base + "/api/v1" + path, {
    credentials: "same-origin",
    ...options,
    headers: { "Accept": "application/json", "Content-Type": "application/json",
               "X-CSRF-Token": csrf, ...(options.headers || {}) },
  });
  const body = await response.json().catch(() => ({}));
  return { ok: response.ok, status: response.status, body };
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 60) return seconds.toFixed(1) + " s";
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return minutes + " min " + Math.floor(seconds % 60) + " s";
  return Math.floor(minutes / 60) + " h " + (minutes % 60) + " min";
}

function setText(root, selector, value) {
  const el = root.querySelector(selector);
  if (el) el.textContent = value;
}

function size(bytes) {
  if (bytes === null || bytes === undefined) return "—";
  let value = bytes;
  for (const unit of ["B", "KB", "MB", "GB"]) {
    if (value < 1024) return unit === "B" ? Math.round(value) + " B" : value.toFixed(1) + " " + unit;
    value /= 1024;
  }
  return value.toFixed(1) + " TB";
}

// A mirror run's bar: files and bytes of the plan done, rate and ETA, what is listed, phase.
function renderMirrorProgress(box, run) {
  const p = run.progress || {};
  const finished = FINAL.includes(run.status) || p.phase === "done";
  const files = p.files_done || 0, filesTotal = p.files_total || 0;
  const bytes = p.bytes_done || 0, bytesTotal = p.bytes_total || 0;
  const pct = finished ? 100 : bytesTotal ? Math.min(100, (bytes * 100) / bytesTotal)
    : filesTotal ? Math.min(100, (files * 100) / filesTotal) : 0;
  const bar = box.querySelector(".bar");
  bar.classList.toggle("indeterminate", !filesTotal && !finished && run.status === "running");
  bar.setAttribute("aria-valuenow", pct.toFixed(1));
  box.querySelector("[data-bar]").style.width = pct.toFixed(1) + "%";
  box.dataset.runStatus = run.status;
  setText(box, "[data-files-done]", files);
  setText(box, "[data-files-total]", filesTotal);
  setText(box, "[data-bytes-done]", size(bytes));
  setText(box, "[data-bytes-total]", size(bytesTotal));
  setText(box, "[data-rate]", p.rate_bytes_s == null ? "—" : size(p.rate_bytes_s) + "/s");
  box.querySelector("[data-eta-box]").hidden = p.eta_s == null;
  setText(box, "[data-eta]", duration(p.eta_s));
  box.querySelector("[data-listed-box]").hidden = !["scan", "detect"].includes(p.phase);
  setText(box, "[data-listed-local]", p.listed_local || 0);
  setText(box, "[data-listed-remote]", p.listed_remote || 0);
  setText(box, "[data-phase]", p.phase || run.status);
}

// A trakt run's bar: no total to go by, so its phase, what it read and marked, and time.
function renderTraktProgress(box, run) {
  const p = run.progress || {};
  const finished = FINAL.includes(run.status) || p.phase === "done";
  box.querySelector(".bar").classList.toggle("indeterminate", !finished && run.status === "running");
  box.querySelector("[data-bar]").style.width = finished ? "100%" : "0%";
  box.dataset.runStatus = run.status;
  setText(box, "[data-fetched]", p.fetched || 0);
  setText(box, "[data-marked]", p.marked || 0);
  setText(box, "[data-elapsed]", duration(p.elapsed_s));
  setText(box, "[data-phase]", p.phase || run.status);
}

// Progress bar: files done (of a total only when one is known), folders, rate, ETA, phase.
function renderProgress(box, run) {
  if (box.dataset.kind === "mirror") return renderMirrorProgress(box, run);
  if (box.dataset.kind === "trakt") return renderTraktProgress(box, run);
  const p = run.progress || {};
  const done = p.scanned || 0;
  const finished = FINAL.includes(run.status) || p.phase === "done";
  const total = finished ? done : p.total;
  const pct = finished ? 100 : total ? Math.min(100, (done * 100) / total) : 0;
  const bar = box.querySelector(".bar");
  bar.classList.toggle("indeterminate", !total && !finished && run.status === "running");
  bar.setAttribute("aria-valuenow", pct.toFixed(1));
  box.querySelector("[data-bar]").style.width = pct.toFixed(1) + "%";
  box.dataset.runStatus = run.status;
  setText(box, "[data-done]", done);
  setText(box, "[data-total]", total ?? "");
  box.querySelector("[data-of]").hidden = !total;
  box.querySelector("[data-so-far]").hidden = Boolean(total) || finished;
  setText(box, "[data-folders]", p.folders || 0);
  setText(box, "[data-rate]", p.rate ?? "—");
  box.querySelector("[data-eta-box]").hidden = p.eta_s == null;
  setText(box, "[data-eta]", duration(p.eta_s));
  setText(box, "[data-phase]", p.phase || run.status);
}

// An epoch time as the panel writes times everywhere: local YYYY-MM-DD HH:MM:SS.
function localTime(ts) {
  const d = new Date(ts * 1000);
  const two = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ` +
    `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

// Run detail, live log: the lines the run wrote since the last one shown.
async function appendLog(id) {
  const list = document.querySelector("[data-log-lines]");
  if (!list) return;
  const level = list.dataset.level ? "&level=" + list.dataset.level : "";
  const { ok, body } = await api(`/runs/${id}/log?after=${list.dataset.after}${level}`);
  if (!ok || !body.lines.length) return;
  for (const line of body.lines) {
    list.append(el("li", { class: "log-" + line.level.toLowerCase() },
      el("time", {}, localTime(line.ts)), " ", el("span", { class: "level" }, line.level), " ",
      el("span", { class: "msg" }, line.message)));
  }
  list.dataset.after = body.lines[body.lines.length - 1].id;
  list.hidden = false;
  for (const empty of document.querySelectorAll("[data-log-empty]")) empty.hidden = true;
}

// Run detail: poll the run until it ends (the log follows live), then reload for the rest.
function watchRun(card) {
  const id = card.dataset.runLive;
  const tick = async () => {
    const { ok, body } = await api("/runs/" + id);
    if (!ok) return setTimeout(tick, 3000);
    if (FINAL.includes(body.status)) return location.reload();
    // Paused or resumed (here or elsewhere): the page swaps its Pause and Resume buttons.
    if (body.status !== card.dataset.liveStatus &&
        [body.status, card.dataset.liveStatus].includes("paused")) return location.reload();
    const box = card.querySelector("[data-progress]");
    if (box) renderProgress(box, body);
    for (const el of card.querySelectorAll("[data-count]")) {
      const value = (body.progress || {})[el.dataset.count];
      if (value !== undefined) el.textContent = value;
    }
    await appendLog(id);
    if (body.started_at) setText(document, "[data-started]", localTime(body.started_at));
    if (body.status !== card.dataset.liveStatus) {
      card.dataset.liveStatus = body.status;
      for (const el of document.querySelectorAll("[data-waiting]")) el.hidden = true;
      for (const el of document.querySelectorAll("[data-when-running]")) {
        el.hidden = body.status !== "running";
      }
      for (const badge of document.querySelectorAll("h1 [data-status]")) {
        badge.textContent = badge.dataset.status = body.status;
        badge.className = "badge badge-" + body.status;
      }
    }
    setTimeout(tick, 500);
  };
  setTimeout(tick, 300);
}

// Dashboard: live progress of running runs; reload when the set of live runs changes.
function watchDashboard(section) {
  const shown = section.dataset.liveIds;
  const tick = async () => {
    const [running, paused, queued] = await Promise.all([
      api("/runs?status=running&per_page=50"), api("/runs?status=paused&per_page=50"),
      api("/runs?status=queued&per_page=50")]);
    if (!running.ok || !paused.ok || !queued.ok) return setTimeout(tick, 5000);
    const ids = [...running.body.runs, ...paused.body.runs, ...queued.body.runs].map((r) => r.id)
      .sort((a, b) => a - b).join(",");
    const was = shown.split(",").filter(Boolean).map(Number).sort((a, b) => a - b).join(",");
    if (ids !== was) return location.reload();
    for (const box of section.querySelectorAll("[data-progress]")) {
      const { ok, body } = await api("/runs/" + box.dataset.run);
      if (ok) renderProgress(box, body);
    }
    setTimeout(tick, 1500);
  };
  setTimeout(tick, 1000);
}

function watchHealth(section) {
  const tick = async () => {
    const { body } = await api("/health");
    if (body.queue) setText(section, "[data-health-queued]", body.queue.queued);
    if (body.workers) {
      setText(section, "[data-health-workers]", body.workers.count);
      setText(section, "[data-health-busy]", body.workers.busy);
    }
    setTimeout(tick, 5000);
  };
  setTimeout(tick, 5000);
}

async function testConnection(button, path, out) {
  button.disabled = true;
  out.className = "test-result";
  out.textContent = "Testing…";
  const { ok, body } = await api(path, { method: "POST", body: "{}" });
  button.disabled = false;
  out.classList.add(ok ? "ok" : "bad");
  const facts = Object.entries(body).filter(([key]) => key !== "ok")
    .map(([key, value]) => key + ": " + value).join(" · ");
  out.textContent = ok ? "✓ Connected" + (facts ? " — " + facts : "") : "✕ " + (body.error || "failed");
}

// Source form: show the connection fields of the chosen kind only.
function kindSwitch(select) {
  const show = () => {
    for (const set of document.querySelectorAll("fieldset[data-kind]")) {
      set.hidden = set.dataset.kind !== select.value;
    }
    for (const set of document.querySelectorAll("fieldset[data-kind-not]")) {
      set.hidden = set.dataset.kindNot === select.value;
    }
  };
  select.addEventListener("change", show);
  show();
}

// Job form: mount prefix and URL base only matter for their STRM mode.
function strmModeSwitch(select) {
  const fields = { mount_prefix: "mount", url_base: "url" };
  const show = () => {
    for (const [name, mode] of Object.entries(fields)) {
      const field = document.querySelector(`[data-field="${name}"]`);
      if (field && !field.classList.contains("has-error")) field.hidden = select.value !== mode;
    }
  };
  select.addEventListener("change", show);
  show();
}

// Trakt job form: the user list of the chosen media server, asked of the server each time
// the choice changes; the chosen user's name goes along for display.
function traktUsers(serverSelect, userSelect) {
  const nameInput = document.querySelector("[data-trakt-user-name]");
  const status = document.querySelector("[data-users-status]");
  const keepName = () => {
    const option = userSelect.selectedOptions[0];
    nameInput.value = option && option.value ? option.dataset.name || option.textContent : "";
  };
  const load = async () => {
    const wanted = userSelect.value;
    if (!serverSelect.value) {
      userSelect.replaceChildren(el("option", { value: "" }, "— choose a server first —"));
      return;
    }
    status.textContent = "Asking the server for its users…";
    status.className = "hint users-status";
    const { ok, body } = await api(`/mediaservers/${serverSelect.value}/users`);
    if (!ok) {
      status.textContent = "✕ Could not list the users: " + (body.error || "the server did not answer");
      status.className = "hint users-status bad";
      return;
    }
    const users = body.users || [];
    userSelect.replaceChildren(el("option", { value: "" }, users.length ? "— choose a user —" : "— no users —"),
      ...users.map((user) => el("option", { value: user.id, "data-name": user.name }, user.name || user.id)));
    userSelect.value = users.some((user) => user.id === wanted) ? wanted : "";
    if (!userSelect.value && users.length === 1) userSelect.value = users[0].id;
    status.textContent = users.length + (users.length === 1 ? " user" : " users") + " on this server.";
    keepName();
  };
  serverSelect.addEventListener("change", load);
  userSelect.addEventListener("change", keepName);
  load();
}

// Trakt job page: Authorise asks for a device code, shows it with its link and a countdown,
// and polls every 2 s until the user approved (or denied, or let it expire) on trakt.tv.
function traktAuthorize(box) {
  const path = box.dataset.traktLink;
  const dialog = box.querySelector("[data-authorize-dialog]");
  const FAILED = {
    expired: "The code expired before it was entered on Trakt.",
    denied: "The request was denied on Trakt.",
    invalid: "Trakt did not recognise the code.",
    used: "That code was already used.",
    unauthorized: "Linking stopped before Trakt answered.",
    "authorize again": "Trakt did not accept the link.",
  };
  let poller = null, clock = null, deadline = 0, linked = false;
  const step = (name) => {
    for (const part of dialog.querySelectorAll("[data-step]")) part.hidden = part.dataset.step !== name;
  };
  const stop = () => { clearTimeout(poller); clearInterval(clock); };
  const fail = (text) => {
    stop();
    setText(dialog, "[data-failed-text]", "✕ " + text);
    step("failed");
  };
  const tick = () => {
    const left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    setText(dialog, "[data-countdown]", Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0"));
  };
  const settle = (answer) => {
    if (answer.state === "authorized") {
      stop();
      linked = true;
      step("authorized");
    } else {
      fail((FAILED[answer.state] || answer.state) + (answer.error ? " (" + answer.error + ")" : ""));
    }
  };
  const poll = async () => {
    const { ok, body } = await api(path);
    if (ok && body.state !== "pending") return settle(body);
    if (ok) deadline = Date.now() + body.expires_in * 1000;
    poller = setTimeout(poll, 2000);
  };
  const start = async () => {
    stop();
    step("asking");
    if (!dialog.open) dialog.showModal();
    // A code still waiting (the dialog was closed meanwhile) is shown again, not replaced.
    const now = await api(path);
    const { ok, body } = now.ok && now.body.state === "pending" ? now
      : await api(path, { method: "POST", body: "{}" });
    if (!ok) return fail(body.error || "Trakt did not answer.");
    const link = dialog.querySelector("[data-verification]");
    link.href = body.verification_url;
    link.textContent = body.verification_url.replace(/^https?:\/\//, "");
    setText(dialog, "[data-user-code]", body.user_code);
    deadline = Date.now() + body.expires_in * 1000;
    tick();
    clock = setInterval(tick, 1000);
    step("pending");
    poller = setTimeout(poll, 2000);
  };
  box.querySelector("[data-authorize]").addEventListener("click", start);
  dialog.querySelector("[data-retry]").addEventListener("click", start);
  dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    stop();
    if (linked) location.reload();  // the page shows the new link state
  });
}

function schedulePreview(input) {
  const list = document.querySelector("[data-next-runs]");
  let timer = null;
  const update = async () => {
    const url = input.dataset.schedulePreview + "?cron=" + encodeURIComponent(input.value);
    const response = await fetch(url, { credentials: "same-origin" });
    const body = await response.json().catch(() => ({}));
    list.replaceChildren();
    for (const when of body.next_runs || []) {
      const li = document.createElement("li");
      li.textContent = localTime(Date.parse(when) / 1000);
      list.append(li);
    }
    if (body.error && input.value.trim()) {
      const li = document.createElement("li");
      li.className = "bad";
      li.textContent = body.error;
      list.append(li);
    }
  };
  input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(update, 300); });
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

function copyButton(text) {
  const button = el("button", { class: "button small ghost", type: "button" }, "Copy");
  button.addEventListener("click", async () => {
    await navigator.clipboard.writeText(text).catch(() => {});
    button.textContent = "Copied";
  });
  return button;
}

// Settings: the webhook token and CloudDrive2 configuration, from /api/v1/settings.
function renderWebhook(box, data) {
  const token = el("code", { "data-token": "" }, "••••••••••••");
  const show = el("button", { class: "button small ghost", type: "button" }, "Show");
  show.addEventListener("click", () => { token.textContent = data.webhook_token; });
  const renew = el("button", { class: "button small secondary", type: "button" }, "Regenerate");
  renew.addEventListener("click", async () => {
    if (!confirm("Make a new token? Webhooks using the old one stop working.")) return;
    const { ok, body } = await api("/settings/webhook-token", { method: "POST", body: "{}" });
    if (ok) renderWebhook(box, body);
  });
  const labels = { clouddrive2: "CloudDrive2 address", events: "Events address" };
  const urls = Object.entries(data.webhook_urls || {}).map(([name, url]) =>
    el("div", {}, el("dt", {}, labels[name] || name), el("dd", { class: "path" }, url)));
  box.replaceChildren(
    el("dl", { class: "facts" },
      el("div", {}, el("dt", {}, "Token"), el("dd", {}, token, " ", show, " ",
        data.webhook_token_configured ? el("span", { class: "muted" }, "set in the configuration") : renew)),
      ...urls),
    el("details", { class: "changes" },
      el("summary", {}, "CloudDrive2 webhook configuration (holds the token)"),
      el("p", { class: "muted" }, "CloudDrive2 → Settings → Webhook: paste this."),
      el("pre", { class: "log" }, data.clouddrive2_webhook_toml || ""),
      copyButton(data.clouddrive2_webhook_toml || "")));
}

// Settings: the media servers, from /api/v1/mediaservers, each with a connection test.
function renderServers(box, data) {
  const servers = data.mediaservers || [];
  if (!servers.length) {
    box.replaceChildren(el("p", { class: "empty" }, "No media servers yet."));
    return;
  }
  const rows = servers.map((server) => {
    const result = el("span", { class: "test-result", role: "status" });
    const test = el("button", { class: "button small secondary", type: "button" }, "Test");
    test.addEventListener("click", async () => {
      result.textContent = "Testing…";
      const { ok, body } = await api("/mediaservers/" + server.id + "/test", { method: "POST", body: "{}" });
      result.className = "test-result " + (ok ? "ok" : "bad");
      result.textContent = ok ? "✓ Connected" : "✕ " + (body.error || "failed");
    });
    return el("tr", {}, el("td", {}, server.name, el("div", { class: "tags" }, el("span", { class: "tag" }, server.kind))),
      el("td", { class: "path" }, server.url), el("td", {}, (server.jobs || []).join(", ") || "—"),
      el("td", { class: "actions" }, test, result));
  });
  box.replaceChildren(el("div", { class: "table-wrap" }, el("table", { class: "table" },
    el("thead", {}, el("tr", {}, el("th", {}, "Server"), el("th", {}, "URL"), el("th", {}, "Jobs"), el("th", {}))),
    el("tbody", {}, ...rows))));
}

async function extraSettings(box, path, render) {
  const { ok, body } = await api(path);
  if (ok) render(box, body);
  else box.replaceChildren(el("p", { class: "muted" }, body.error || "Not available."));
}

document.addEventListener("DOMContentLoaded", () => {
  const run = document.querySelector("[data-run-live]");
  if (run && !FINAL.includes(run.dataset.liveStatus)) watchRun(run);
  const live = document.querySelector("[data-live]");
  if (live) watchDashboard(live);
  const health = document.querySelector("[data-health]");
  if (health) watchHealth(health);
  for (const button of document.querySelectorAll("[data-test-connection]")) {
    const out = button.nextElementSibling;  // the result span of the same cell
    button.addEventListener("click", () => testConnection(button, button.dataset.testConnection, out));
  }
  const kind = document.querySelector("[data-kind-select]");
  if (kind) kindSwitch(kind);
  const mode = document.querySelector('[data-job-form] select[name="strm_mode"]');
  if (mode) strmModeSwitch(mode);
  const traktServer = document.querySelector("[data-trakt-server]");
  const traktUser = document.querySelector("[data-trakt-users]");
  if (traktServer && traktUser) traktUsers(traktServer, traktUser);
  const traktLink = document.querySelector("[data-trakt-link]");
  if (traktLink) traktAuthorize(traktLink);
  const schedule = document.querySelector("[data-schedule-preview]");
  if (schedule) schedulePreview(schedule);
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
  const webhook = document.querySelector("[data-api-settings]");
  if (webhook) extraSettings(webhook, "/settings", renderWebhook);
  const servers = document.querySelector("[data-api-mediaservers]");
  if (servers) extraSettings(servers, "/mediaservers", renderServers);
});
