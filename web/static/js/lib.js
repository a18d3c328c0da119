// Shared helpers for every console page: config, messages, the API client, formatting, DOM.

const readJson = (id) => JSON.parse(document.getElementById(id)?.textContent || "{}");

export const config = readJson("cs-config");
const messages = readJson("cs-messages");

/** The message `key` in the page's language, with {name} placeholders filled. */
export function t(key, params = {}) {
  const text = messages[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in params ? String(params[name]) : `{${name}}`));
}

export class ApiError extends Error {
  constructor(status, detail) {
    super(typeof detail === "string" ? detail : JSON.stringify(detail));
    this.status = status;
    this.detail = detail;
  }
}

const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content;

/** Call /api/v1 with the session cookie (and the CSRF token on changes); JSON in and out. */
export async function api(path, { method = "GET", body, query, raw = false } = {}) {
  const url = new URL(`/api/v1${path}`, location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v === undefined || v === null || v === "") continue;
    for (const item of Array.isArray(v) ? v : [v]) url.searchParams.append(k, item);
  }
  const headers = { Accept: "application/json" };
  if (method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = csrf() || "";
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  if (res.status === 401 && config.user) {
    location.href = `/login?next=${encodeURIComponent(location.pathname + location.search)}`;
    throw new ApiError(401, "signed out");
  }
  if (!res.ok) {
    let detail = res.statusText;
    try {
      detail = (await res.json()).detail;
    } catch {
      /* not JSON */
    }
    throw new ApiError(res.status, detail);
  }
  if (raw) return res;
  if (res.status === 204) return null;
  return res.json();
}

/** Try an API path; `null` when the endpoint is not there (404/405), for features that land later. */
export async function apiOptional(path, options) {
  try {
    return await api(path, options);
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.status === 405)) return null;
    throw err;
  }
}

// --- formatting: Intl in the page's locale and the hotline's time zone -----------------------

const locale = config.locale || "en-US";
const tz = config.timezone || "UTC";
const cache = new Map();
function fmt(kind, options) {
  const key = kind + JSON.stringify(options);
  if (!cache.has(key)) {
    const ctor = kind === "n" ? Intl.NumberFormat : Intl.DateTimeFormat;
    cache.set(key, new ctor(locale, kind === "n" ? options : { timeZone: tz, ...options }));
  }
  return cache.get(key);
}

export const fmtNumber = (n, digits = 0) =>
  n === null || n === undefined ? "–" : fmt("n", { maximumFractionDigits: digits, minimumFractionDigits: 0 }).format(n);
export const fmtPercent = (ratio, digits = 1) =>
  ratio === null || ratio === undefined
    ? "–"
    : fmt("n", { style: "percent", maximumFractionDigits: digits, minimumFractionDigits: digits }).format(ratio);
export const fmtSeconds = (s, digits = 1) =>
  s === null || s === undefined ? "–" : t("unit.seconds", { n: fmtNumber(s, digits) });
export const fmtDateTime = (iso) =>
  iso ? fmt("d", { dateStyle: "medium", timeStyle: "short" }).format(new Date(iso)) : "–";
export const fmtDate = (iso) => (iso ? fmt("d", { dateStyle: "medium" }).format(new Date(iso)) : "–");
export const fmtTime = (iso) => (iso ? fmt("d", { timeStyle: "medium" }).format(new Date(iso)) : "–");
export const fmtShortDate = (d) => fmt("d", { month: "short", day: "numeric" }).format(d);
export const fmtWeekday = (i) =>
  // 2024-01-01 was a Monday; i = 0 (Monday) .. 6 (Sunday)
  fmt("d", { weekday: "short", timeZone: "UTC" }).format(new Date(Date.UTC(2024, 0, 1 + i)));
export function fmtClock(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "–:––";
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}
export const fmtRings = (n) =>
  n === null || n === undefined ? "–" : t(n === 1 ? "unit.ring" : "unit.rings", { n: fmtNumber(n) });

/** YYYY-MM-DD of a Date in the hotline's zone (for date inputs). */
export function isoDay(d) {
  const parts = fmt("d", { year: "numeric", month: "2-digit", day: "2-digit" }).formatToParts(d);
  const get = (type) => parts.find((p) => p.type === type).value;
  return `${get("year")}-${get("month")}-${get("day")}`;
}

// --- DOM -----------------------------------------------------------------------------------

/** Build an element: h("a", {href, class}, child, ...); strings become text (never HTML). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, v);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

export function toast(text, kind = "info") {
  const el = document.getElementById("toast");
  if (!el) return;
  el.textContent = text;
  el.dataset.kind = kind;
  el.classList.add("show");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => el.classList.remove("show"), 3500);
}

/** A placeholder for a part of the page whose API is not available on this server. */
export const unavailable = (what) => h("p", { class: "empty" }, t("common.unavailable", { what }));
export const emptyRow = (cols, text) => h("tr", {}, h("td", { colspan: cols, class: "empty" }, text));

export function showError(container, err) {
  container.replaceChildren(
    h("p", { class: "form-error", role: "alert" }, err instanceof ApiError ? err.message : t("common.error")),
  );
}

/** A badge for a flag severity or review status. */
export function badge(text, kind = "muted") {
  return h("span", { class: `badge badge-${kind}` }, text);
}
export const SEVERITY_KIND = { critical: "danger", high: "danger", medium: "warn", low: "muted" };
export const STATUS_KIND = { queued: "info", submitted: "info", acknowledged: "ok", disputed: "warn", resolved: "muted" };

// theme labels come from the active lexicon, in every language it names
const themeLabels = new Map();
if (config.user) {
  try {
    const res = await fetch("/api/v1/themes", { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (res.ok) for (const th of (await res.json()).themes) themeLabels.set(th.id, th.labels || {});
  } catch {
    /* labels fall back to theme ids */
  }
}
/** The theme's label in the page's language (its id when the lexicon has none). */
export const themeLabel = (id) => themeLabels.get(id)?.[config.lang] || themeLabels.get(id)?.en || id;
/** Every theme id of the active lexicon. */
export const themeIds = () => [...themeLabels.keys()];
/** The translated reason of a flag rule, e.g. theme:brakes or abandoned_after_target. */
export function flagLabel(rule) {
  if (rule.startsWith("theme:")) return t("flag.theme", { theme: themeLabel(rule.slice(6)) });
  return messages[`flag.${rule}`] ? t(`flag.${rule}`) : rule;
}
