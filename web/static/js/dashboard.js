// The compliance dashboard: every figure is a row of GET /api/v1/reports/compliance.
import { draw } from "./charts.js";
import {
  $, api, config, fmtDate, fmtNumber, fmtPercent, fmtSeconds, fmtShortDate, fmtWeekday, h, isoDay,
  showError, t, themeLabel,
} from "./lib.js";

const form = $("#dash-filters");
const params = new URLSearchParams(location.search);
const today = new Date();
form.since.value = params.get("since") || isoDay(new Date(today.getTime() - 29 * 86400e3));
form.until.value = params.get("until") || isoDay(today);
const TARGET = 0.8; // the service-level goal drawn on the chart

function query(by) {
  const until = new Date(`${form.until.value}T00:00:00Z`);
  until.setUTCDate(until.getUTCDate() + 1);
  return { since: `${form.since.value}T00:00:00`, until: until.toISOString().slice(0, 19), queue: form.queue.value, by };
}

const sum = (rows, key) => rows.reduce((a, r) => a + (r[key] || 0), 0);
const ratio = (a, b) => (b ? a / b : null);

function kpi(label, value, hint, kind = "", test = "") {
  return h("div", { class: `kpi ${kind}`, "data-kpi": test }, h("div", { class: "label" }, label), h("div", { class: "value" }, value), hint ? h("div", { class: "hint" }, hint) : null);
}

async function load() {
  const csv = new URLSearchParams(Object.entries({ ...query("queue"), format: "csv" }).filter(([, v]) => v));
  $("#dash-csv").href = `/api/v1/reports/compliance?${csv}`;
  let byQueue, byAgent, byDay, byHour;
  try {
    [byQueue, byAgent, byDay, byHour] = await Promise.all(
      ["queue", "agent", "day", "hour"].map((by) => api("/reports/compliance", { query: query(by) })),
    );
  } catch (err) { showError($("#kpis"), err); return; }
  fillQueues(byQueue);
  const rows = byQueue.rows;
  const rings = byQueue.settings.answer_target_rings;
  const answered = sum(rows, "answered");
  const within = sum(rows, "answered_within_target");
  const offered = sum(rows, "offered");
  const abandoned = sum(rows, "abandoned") - sum(rows, "short_abandoned");
  const counted = offered - sum(rows, "short_abandoned");
  const asa = answered ? rows.reduce((a, r) => a + (r.asa_s || 0) * r.answered, 0) / answered : null;
  const fuOpened = sum(rows, "followups_opened");
  const fuOnTime = sum(rows, "followups_on_time");
  const sl = ratio(within, answered);
  const slInclusive = ratio(within, answered + abandoned); // as sl_inclusive: short abandons left out
  $("#kpis").replaceChildren(
    kpi(t("dash.sl", { rings }), fmtPercent(sl), t("dash.sl_hint", { n: fmtNumber(within), of: fmtNumber(answered) }), sl === null ? "" : sl >= TARGET ? "good" : "bad", "sl"),
    kpi(t("dash.sl_inclusive", { rings }), fmtPercent(slInclusive), t("dash.sl_inclusive_hint", { n: fmtNumber(within), of: fmtNumber(answered + abandoned) }), "", "sl_inclusive"),
    kpi(t("dash.abandon"), fmtPercent(ratio(abandoned, counted)), t("dash.abandon_hint", { n: fmtNumber(abandoned), of: fmtNumber(counted) }), "", "abandon"),
    kpi(t("dash.asa"), fmtSeconds(asa), null, "", "asa"),
    kpi(t("dash.offered"), fmtNumber(offered), `${fmtDate(`${form.since.value}T12:00:00Z`)} – ${fmtDate(`${form.until.value}T12:00:00Z`)}`, "", "offered"),
    kpi(t("dash.followups"), fmtPercent(ratio(fuOnTime, fuOpened)), t("dash.followups_hint", { n: fmtNumber(fuOnTime), of: fmtNumber(fuOpened) }), "", "followups"),
  );
  table($("#by-queue"), rows, t("col.queue"), "queue");
  table($("#by-agent"), byAgent.rows, t("col.agent"), "agent");
  timeChart(byDay.rows);
  agentChart(byAgent.rows);
  heatMap(byHour.rows, byQueue.settings.ring_cycle_s);
  topThemes(byQueue.top_themes);
}

function fillQueues(report) {
  const sel = form.queue;
  if (sel.options.length > 1) return;
  const queues = report.settings.queues || report.rows.map((r) => r.group).filter(Boolean);
  for (const q of [...new Set(queues)].sort()) sel.append(h("option", { value: q, selected: q === params.get("queue") }, q));
}

function table(el, rows, groupLabel, kind) {
  const head = h("thead", {}, h("tr", {},
    h("th", { scope: "col" }, groupLabel), h("th", { scope: "col", class: "num" }, t("col.offered")), h("th", { scope: "col", class: "num" }, t("col.answered")),
    h("th", { scope: "col", class: "num" }, t("col.sl")), h("th", { scope: "col", class: "num" }, t("col.asa")),
    h("th", { scope: "col", class: "num" }, t("col.abandon_rate")), h("th", { scope: "col", class: "num hide-narrow" }, t("col.followup_rate"))));
  const body = h("tbody", {}, ...(rows.length ? rows.map((r) => h("tr", { "data-group": r.group ?? "" },
    h("th", { scope: "row", style: "font-weight:500;color:inherit" }, r.group ?? "–"),
    h("td", { class: "num", "data-field": "offered", "data-value": r.offered }, fmtNumber(r.offered)), h("td", { class: "num" }, fmtNumber(r.answered)),
    h("td", { class: "num", "data-field": "sl_answered", "data-value": r.sl_answered ?? "" }, fmtPercent(r.sl_answered)),
    h("td", { class: "num" }, fmtSeconds(r.asa_s)), h("td", { class: "num" }, fmtPercent(r.abandon_rate)),
    h("td", { class: "num hide-narrow" }, fmtPercent(r.followup_on_time_rate)))) : [h("tr", {}, h("td", { colspan: 7, class: "empty" }, t("dash.no_data")))]));
  el.replaceChildren(h("caption", { class: "visually-hidden" }, kind), head, body);
}

const dayOf = (group) => new Date(`${String(group).slice(0, 10)}T12:00:00Z`);

function timeChart(rows) {
  const sorted = rows.filter((r) => r.group).sort((a, b) => String(a.group).localeCompare(String(b.group)));
  draw("chart-time", {
    type: "line",
    data: {
      labels: sorted.map((r) => fmtShortDate(dayOf(r.group))),
      datasets: [
        { label: t("dash.rate"), data: sorted.map((r) => (r.sl_answered === null ? null : r.sl_answered * 100)), borderColor: "#1d4ed8", backgroundColor: "rgba(29,78,216,.12)", fill: true, tension: 0.25, pointRadius: 3, spanGaps: true },
        { label: t("dash.target", { p: fmtPercent(TARGET, 0) }), data: sorted.map(() => TARGET * 100), borderColor: "#b3261e", borderDash: [6, 4], pointRadius: 0, borderWidth: 1.5 },
      ],
    },
    options: {
      scales: { y: { min: 0, max: 100, ticks: { callback: (v) => fmtPercent(v / 100, 0) } } },
      plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${fmtPercent(c.parsed.y / 100)}` } }, legend: { position: "bottom" } },
    },
  });
}

function agentChart(rows) {
  const sorted = rows.filter((r) => r.answered).sort((a, b) => (b.sl_answered ?? 0) - (a.sl_answered ?? 0));
  draw("chart-agent", {
    type: "bar",
    data: { labels: sorted.map((r) => r.group ?? "–"), datasets: [{ label: t("dash.rate"), data: sorted.map((r) => (r.sl_answered ?? 0) * 100), backgroundColor: sorted.map((r) => ((r.sl_answered ?? 0) >= TARGET ? "#11703f" : "#b3261e")) }] },
    options: { indexAxis: "y", scales: { x: { min: 0, max: 100, ticks: { callback: (v) => fmtPercent(v / 100, 0) } } }, plugins: { legend: { display: false }, tooltip: { callbacks: { label: (c) => fmtPercent(c.parsed.x / 100) } } } },
  });
}

function heatMap(rows, cycle) {
  // sum the hourly buckets into weekday x hour cells: mean ring-to-answer (ASA) in rings
  const cells = new Map();
  for (const r of rows) {
    if (!r.group || !r.answered || r.asa_s === null) continue;
    const g = String(r.group);
    const hour = Number(g.slice(11, 13));
    const weekday = (dayOf(g).getUTCDay() + 6) % 7; // Monday = 0
    const key = `${weekday}-${hour}`;
    const c = cells.get(key) || { x: hour, y: weekday, answered: 0, wait: 0 };
    c.answered += r.answered;
    c.wait += r.asa_s * r.answered;
    cells.set(key, c);
  }
  const data = [...cells.values()].map((c) => ({ ...c, v: c.wait / c.answered / cycle }));
  const max = Math.max(1, ...data.map((d) => d.v));
  draw("chart-heat", {
    type: "matrix",
    data: { datasets: [{
      label: t("dash.heat"), data,
      backgroundColor: (c) => { const v = c.raw?.v ?? 0; return `rgba(29,78,216,${0.12 + 0.88 * Math.min(1, v / max)})`; },
      borderColor: "#ffffff", borderWidth: 1,
      width: ({ chart }) => (chart.chartArea || {}).width / 24 - 1,
      height: ({ chart }) => (chart.chartArea || {}).height / 7 - 1,
    }] },
    options: {
      scales: {
        x: { type: "linear", min: -0.5, max: 23.5, offset: false, afterBuildTicks: (axis) => { axis.ticks = [0, 3, 6, 9, 12, 15, 18, 21].map((value) => ({ value })); }, ticks: { callback: (v) => `${v}` }, grid: { display: false }, title: { display: true, text: t("dash.hour") } },
        y: { type: "linear", min: -0.5, max: 6.5, reverse: true, offset: false, afterBuildTicks: (axis) => { axis.ticks = [0, 1, 2, 3, 4, 5, 6].map((value) => ({ value })); }, ticks: { callback: (v) => fmtWeekday(v) }, grid: { display: false } },
      },
      plugins: { legend: { display: false }, tooltip: { callbacks: { title: () => "", label: (c) => t("dash.cell", { day: fmtWeekday(c.raw.y), hour: c.raw.x, rings: fmtNumber(c.raw.v, 1), n: fmtNumber(c.raw.answered) }) } } },
    },
  });
}

function topThemes(themes) {
  const box = $("#top-themes");
  if (!themes?.length) { box.replaceChildren(h("p", { class: "empty" }, t("themes.empty"))); return; }
  const max = Math.max(...themes.map((x) => x.calls), 1);
  box.replaceChildren(h("table", { class: "data" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("admin.theme")), h("th", { scope: "col", class: "num" }, t("col.calls")), h("th", { scope: "col", class: "num" }, t("col.previous")), h("th", { scope: "col" }, ""))),
    h("tbody", {}, ...themes.map((x) => h("tr", {},
      h("td", {}, h("a", { href: `/themes?theme=${encodeURIComponent(x.theme)}` }, themeLabel(x.theme))),
      h("td", { class: "num" }, fmtNumber(x.calls)), h("td", { class: "num" }, fmtNumber(x.previous_calls)),
      h("td", {}, h("span", { class: "bar-inline", style: `width:${Math.round((x.calls / max) * 120)}px` })))))));
}

form.addEventListener("submit", (e) => {
  e.preventDefault();
  history.replaceState(null, "", `?${new URLSearchParams({ since: form.since.value, until: form.until.value, queue: form.queue.value })}`);
  load();
});
load();
