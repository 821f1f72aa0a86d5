// The sigpool management page: reads the management API of the daemon that
// serves it. Alarms are re-read on every notification of the SSE stream
// (and every 30 s in case the stream is down); pools and associations are
// polled every 5 s. Everything is written with textContent: nothing the
// API returns is ever parsed as HTML.
"use strict";

const SEVERITIES = ["CRITICAL", "MAJOR", "MINOR", "WARNING", "INDETERMINATE"];
const MAX_LOAD = 0xffffffff; // RFC 5356: 0..100 % maps to 0..0xffffffff
let generation = 0; // bumped after each render, for tests and curious operators

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(c == null ? "" : String(c)));
  return e;
}

async function getJSON(path) {
  const r = await fetch(path, { headers: { Accept: "application/json" }, cache: "no-store" });
  if (r.status === 404) return null; // not provided by this daemon
  const body = await r.json();
  if (!r.ok) throw new Error((body.error && body.error.errorInfo) || r.statusText);
  return body;
}

function since(t) {
  return t ? t.replace("T", " ").replace(/\.\d+/, "").replace("Z", "") : "";
}

function seconds(s) {
  if (!s) return "–";
  return s < 1 ? (s * 1000).toFixed(1) + " ms" : s.toFixed(2) + " s";
}

function touch() {
  generation++;
  document.body.dataset.generation = String(generation);
  document.getElementById("updated").textContent = new Date().toISOString().replace("T", " ").replace(/\.\d+Z/, " UTC");
}

async function refreshAlarms() {
  const [status, list] = await Promise.all([getJSON("/api/v1/status"), getJSON("/api/fm/v1/alarms")]);
  document.getElementById("system").textContent = status.system || "";
  const ready = document.getElementById("ready");
  ready.textContent = status.ready ? "ready" : "not ready";
  ready.className = "pill " + (status.ready ? "ok" : "bad");
  ready.title = Object.entries(status.checks || {}).map(([k, v]) => k + ": " + v).join("\n");

  const counts = document.getElementById("counts");
  const keys = { CRITICAL: "criticalCount", MAJOR: "majorCount", MINOR: "minorCount", WARNING: "warningCount", INDETERMINATE: "indeterminateCount" };
  counts.replaceChildren(...SEVERITIES.map(s => {
    const n = status.alarms[keys[s]] || 0;
    return el("span", { class: "c-" + s + (n ? " nonzero" : ""), "data-severity": s, "data-count": n }, s.toLowerCase() + " " + n);
  }));

  const alarms = Object.values(list || {}).sort((a, b) =>
    SEVERITIES.indexOf(a.perceivedSeverity) - SEVERITIES.indexOf(b.perceivedSeverity) ||
    a.alarmRaisedTime.localeCompare(b.alarmRaisedTime) || Number(a.alarmId) - Number(b.alarmId));
  const tbody = document.querySelector("#alarms tbody");
  tbody.replaceChildren(...alarms.map(a => {
    let text = a.additionalText || "";
    if (a.flapCount) text += (text ? "; " : "") + "flapped " + a.flapCount + " times";
    return el("tr", { class: "alarm", "data-alarm-id": a.alarmId, "data-alarm-name": a.alarmName, "data-severity": a.perceivedSeverity, "data-object": a.objectInstance },
      el("td", {}, el("span", { class: "sev sev-" + a.perceivedSeverity }, a.perceivedSeverity)),
      el("td", { class: "mono" }, since(a.alarmRaisedTime)),
      el("td", { title: a.proposedRepairActions || "" }, a.alarmName),
      el("td", { class: "mono" }, a.objectInstance),
      el("td", {}, text),
      el("td", {}, a.ackState === "ACKNOWLEDGED" ? "✓ " + (a.ackUserId || "") : ""));
  }));
  document.getElementById("alarms").hidden = alarms.length === 0;
  document.getElementById("no-alarm").hidden = alarms.length !== 0;
}

async function refreshPools() {
  const pools = await getJSON("/api/v1/pools");
  const box = document.getElementById("pools");
  if (pools === null) {
    box.replaceChildren(el("p", { class: "quiet" }, "This daemon has no pools."));
    return;
  }
  if (pools.length === 0) {
    box.replaceChildren(el("p", { class: "quiet" }, "No pool."));
    return;
  }
  box.replaceChildren(...pools.map(p => {
    const live = p.elements.length;
    const min = p.minElements ? ", minimum " + p.minElements : "";
    return el("div", { class: "pool", "data-pool": p.handle },
      el("h3", {}, p.handle + " ", el("span", { class: "quiet" }, "(" + p.policy + ", " + live + " element" + (live === 1 ? "" : "s") + min + ")")),
      el("table", {},
        el("thead", {}, el("tr", {}, ...["Element", "Address", "State", "Load", "Home registrar"].map(h => el("th", {}, h)))),
        el("tbody", {}, ...p.elements.map(e => {
          const pct = Math.min(100, e.load / MAX_LOAD * 100);
          return el("tr", { class: "element", "data-element": e.id, "data-load": e.load },
            el("td", { class: "mono" }, e.id),
            el("td", { class: "mono" }, e.address),
            el("td", { class: "state-" + e.state }, e.state),
            el("td", {}, el("span", { class: "bar" }, el("i", { style: "width:" + pct.toFixed(1) + "%" })), pct.toFixed(1) + " %"),
            el("td", {}, e.homeRegistrar || ""));
        }))));
  }));
}

async function refreshAssociations() {
  const list = await getJSON("/api/v1/associations");
  const tbody = document.querySelector("#associations tbody");
  const none = document.getElementById("no-assoc");
  const rows = [];
  for (const a of list || []) {
    const paths = a.paths.length ? a.paths : [null];
    paths.forEach((p, i) => {
      const first = i === 0;
      rows.push(el("tr", { class: "path", "data-association": a.name, "data-path": p ? p.address : "", "data-state": p ? p.state : "" },
        el("td", {}, first ? a.name : ""),
        el("td", { class: first ? "state-" + a.state : "" }, first ? a.state : ""),
        el("td", { class: "mono" }, first ? a.local : ""),
        el("td", { class: "mono" }, first ? a.peer : ""),
        el("td", { class: "mono" }, p ? p.address + (p.primary ? " (primary)" : "") : "–"),
        el("td", { class: p ? "state-" + p.state : "" }, p ? p.state : "–"),
        el("td", {}, p ? seconds(p.srttSeconds) : ""),
        el("td", {}, p ? seconds(p.rtoSeconds) : "")));
    });
  }
  tbody.replaceChildren(...rows);
  document.getElementById("associations").hidden = rows.length === 0;
  none.hidden = rows.length !== 0;
  none.textContent = list === null ? "This daemon has no associations." : "No association.";
}

function guard(f) {
  return () => f().then(touch, err => {
    const live = document.getElementById("live");
    live.textContent = "error: " + err.message;
    live.className = "pill bad";
  });
}

const alarmsNow = guard(refreshAlarms);
const othersNow = guard(() => Promise.all([refreshPools(), refreshAssociations()]));

function follow() {
  const live = document.getElementById("live");
  const es = new EventSource("/api/fm/v1/notifications");
  es.onopen = () => { live.textContent = "live"; live.className = "pill ok"; alarmsNow(); };
  for (const t of ["notifyNewAlarm", "notifyChangedAlarm", "notifyClearedAlarm", "notifyAckStateChanged", "notifyComments"]) {
    es.addEventListener(t, alarmsNow);
  }
  // The daemon ends the stream of a subscriber that fell behind: read the
  // list again and subscribe anew (EventSource reconnects by itself).
  es.addEventListener("error", () => { live.textContent = "reconnecting"; live.className = "pill bad"; });
}

alarmsNow();
othersNow();
follow();
setInterval(alarmsNow, 30000);
setInterval(othersNow, 5000);
