// The satisfaction dashboard: GET /api/v1/surveys/satisfaction (whole period and by group) and
// /surveys/drivers (rings to answer, complaint themes, QA score), drawn with Chart.js.
import { PALETTE, draw } from "./charts.js";
import { $, api, config, fmtDate, fmtNumber, fmtPercent, h, isoDay, showError, t, themeLabel } from "./lib.js";

const form = $("#sat-filters");
const params = new URLSearchParams(location.search);
const today = new Date();
form.since.value = params.get("since") || isoDay(new Date(today.getTime() - 29 * 86400e3));
form.until.value = params.get("until") || isoDay(today);
if (params.get("by")) form.by.value = params.get("by");
const GOOD = 80; // an index at or above this is drawn green, below 60 red
const BAD = 60;
let questions = [];

// Days are whole days in the hotline's zone, sent with their UTC offset (the survey API reads
// a time without a zone as UTC, the compliance report as local time: explicit is the same for both).
const zoneParts = new Intl.DateTimeFormat("en-US", {
  timeZone: config.timezone || "UTC", hourCycle: "h23",
  year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
});
function zoneOffsetMs(at) {
  const p = Object.fromEntries(zoneParts.formatToParts(at).map((x) => [x.type, x.value]));
  return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second) - at.getTime();
}
/** Midnight starting the local day YYYY-MM-DD (+ `plus` days), as an ISO UTC time. */
function localMidnight(day, plus = 0) {
  const wall = new Date(`${day}T00:00:00Z`);
  wall.setUTCDate(wall.getUTCDate() + plus);
  let at = new Date(wall.getTime() - zoneOffsetMs(wall));
  at = new Date(wall.getTime() - zoneOffsetMs(at)); // again, in case the offset changed that night
  return at.toISOString();
}

function range() {
  return { since: localMidnight(form.since.value), until: localMidnight(form.until.value, 1) };
}

const tOr = (key, fallback) => (t(key) === key ? fallback : t(key));
const questionLabel = (key) => tOr(`survey.q.${key}`, questions.find((q) => q.key === key)?.label || key);
const indexFormat = new Intl.NumberFormat(config.locale || "en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const fmtIndex = (v) => (v === null || v === undefined ? "–" : indexFormat.format(v));
/** A long axis label on two lines (Chart.js draws an array as lines), split at a middle space. */
function wrap(label, max = 18) {
  if (label.length <= max || !label.includes(" ")) return label;
  const mid = label.length / 2;
  let cut = -1;
  for (let i = label.indexOf(" "); i !== -1; i = label.indexOf(" ", i + 1)) if (cut === -1 || Math.abs(i - mid) < Math.abs(cut - mid)) cut = i;
  return [label.slice(0, cut), label.slice(cut + 1)];
}
const indexColor = (v) => (v === null || v === undefined ? "#94a3b8" : v >= GOOD ? "#11703f" : v < BAD ? "#b3261e" : "#1d4ed8");

function groupLabel(group, by) {
  if (group === null || group === undefined) return by === "agent" ? t("call.not_answered") : by === "queue" ? t("call.no_queue") : "–";
  if (by === "day") return fmtDate(`${String(group).slice(0, 10)}T12:00:00Z`);
  if (by === "week") return t("sat.week_of", { day: fmtDate(`${String(group).slice(0, 10)}T12:00:00Z`) });
  return String(group);
}

function bucketLabel(group, limit) {
  if (group === `within ${limit} rings`) return t("sat.within", { n: limit });
  if (group === `beyond ${limit} rings`) return t("sat.beyond", { n: limit });
  const fixed = {
    "not answered": "call.not_answered",
    "rings unknown": "sat.rings_unknown",
    "(no complaint theme)": "sat.no_theme",
    "QA score >= 80": "sat.qa_high",
    "QA score 60-79": "sat.qa_mid",
    "QA score < 60": "sat.qa_low",
    "not reviewed": "sat.qa_none",
  };
  return fixed[group] ? t(fixed[group]) : themeLabel(group);
}

function kpi(label, value, hint, test, raw, kind = "") {
  return h("div", { class: `kpi ${kind}`, "data-kpi": test, "data-value": raw ?? "" },
    h("div", { class: "label" }, label), h("div", { class: "value" }, value), hint ? h("div", { class: "hint" }, hint) : null);
}

async function load() {
  let whole, grouped, drivers;
  try {
    const forms = await api("/surveys/forms");
    questions = forms[0]?.questions || [];
    [[whole], grouped, drivers] = await Promise.all([
      api("/surveys/satisfaction", { query: range() }),
      api("/surveys/satisfaction", { query: { ...range(), by: form.by.value } }),
      api("/surveys/drivers", { query: range() }),
    ]);
  } catch (err) { showError($("#sat-kpis"), err); return; }
  kpis(whole);
  groups(grouped, form.by.value);
  averages(whole);
  reasons(whole);
  ringsDriver(drivers.rings, drivers.ring_limit);
  bucketDriver("chart-drv-themes", "#drv-themes", drivers.themes, drivers.ring_limit, true);
  bucketDriver("chart-qa", "#drv-qa", drivers.qa, drivers.ring_limit, false);
  document.body.dataset.satReady = "true";
}

function kpis(w) {
  const kind = w.index === null ? "" : w.index >= GOOD ? "good" : w.index < BAD ? "bad" : "";
  $("#sat-kpis").replaceChildren(
    kpi(t("sat.index"), fmtIndex(w.index), t("sat.index_hint"), "index", w.index, kind),
    kpi(t("sat.responses"), fmtNumber(w.responses), `${fmtDate(`${form.since.value}T12:00:00Z`)} – ${fmtDate(`${form.until.value}T12:00:00Z`)}`, "responses", w.responses),
    kpi(t("sat.response_rate"), fmtPercent(w.response_rate), t("sat.response_rate_hint", { n: fmtNumber(Math.round((w.response_rate || 0) * (w.calls || 0))), of: fmtNumber(w.calls || 0) }), "response_rate", w.response_rate),
    kpi(t("sat.dissatisfied"), fmtPercent(w.dissatisfied_share), t("sat.dissatisfied_hint", { n: fmtNumber(w.dissatisfied) }), "dissatisfied", w.dissatisfied_share, w.dissatisfied ? "bad" : ""),
    kpi(t("sat.recommend"), fmtPercent(w.would_recommend_share), null, "recommend", w.would_recommend_share),
  );
}

/** A table of index rows; `compact` (driver buckets) leaves out the response rate and recommend. */
function figuresTable(el, rows, label, caption, compact = false) {
  const wide = (cell) => (compact ? null : cell);
  const head = h("thead", {}, h("tr", {},
    h("th", { scope: "col" }, caption), h("th", { scope: "col", class: "num" }, t("sat.col_index")),
    h("th", { scope: "col", class: "num" }, t("sat.responses")), wide(h("th", { scope: "col", class: "num hide-narrow" }, t("sat.response_rate"))),
    h("th", { scope: "col", class: "num" }, t("sat.dissatisfied")), wide(h("th", { scope: "col", class: "num hide-narrow" }, t("sat.recommend")))));
  const body = h("tbody", {}, ...(rows.length ? rows.map((r) => h("tr", { "data-group": r.group ?? "" },
    h("th", { scope: "row", style: "font-weight:500;color:inherit" }, label(r.group)),
    h("td", { class: "num", "data-field": "index", "data-value": r.index ?? "" }, fmtIndex(r.index)),
    h("td", { class: "num", "data-field": "responses", "data-value": r.responses }, fmtNumber(r.responses)),
    wide(h("td", { class: "num hide-narrow" }, fmtPercent(r.response_rate))),
    h("td", { class: "num" }, fmtPercent(r.dissatisfied_share)),
    wide(h("td", { class: "num hide-narrow" }, fmtPercent(r.would_recommend_share))))) : [h("tr", {}, h("td", { colspan: compact ? 4 : 6, class: "empty" }, t("sat.no_data")))]));
  el.replaceChildren(h("caption", { class: "visually-hidden" }, caption), head, body);
}

function groups(rows, by) {
  const caption = { agent: t("col.agent"), queue: t("col.queue"), day: t("sat.by_day"), week: t("sat.by_week") }[by];
  figuresTable($("#sat-groups"), rows, (g) => groupLabel(g, by), caption);
  const shown = rows.filter((r) => r.responses);
  const time = by === "day" || by === "week";
  draw("chart-groups", {
    type: "bar",
    data: { labels: shown.map((r) => groupLabel(r.group, by)), datasets: [{ label: t("sat.index"), data: shown.map((r) => r.index), backgroundColor: shown.map((r) => indexColor(r.index)) }] },
    options: {
      indexAxis: time ? "x" : "y",
      scales: { [time ? "y" : "x"]: { min: 0, max: 100, title: { display: true, text: t("sat.index_axis") } } },
      plugins: { legend: { display: false }, tooltip: { callbacks: { label: (c) => t("sat.tip", { index: fmtIndex(c.raw), n: fmtNumber(shown[c.dataIndex].responses) }) } } },
    },
  });
}

function averages(w) {
  const keys = questions.map((q) => q.key).filter((k) => k in (w.averages || {}));
  draw("chart-averages", {
    type: "bar",
    data: { labels: keys.map((k) => wrap(questionLabel(k))), datasets: [{ label: t("sat.averages"), data: keys.map((k) => w.averages[k]), backgroundColor: keys.map((k, i) => PALETTE[i % PALETTE.length]) }] },
    options: {
      indexAxis: "y",
      scales: { x: { min: 1, max: 5, ticks: { stepSize: 1 } } },
      plugins: { legend: { display: false }, tooltip: { callbacks: { label: (c) => t("sat.avg_tip", { avg: fmtNumber(c.raw, 2), n: fmtNumber(w.answers[keys[c.dataIndex]] || 0) }) } } },
    },
  });
}

function reasons(w) {
  const box = $("#sat-reasons");
  const entries = Object.entries(w.reasons || {});
  if (!entries.length) { box.replaceChildren(h("p", { class: "empty" }, t("sat.no_reasons"))); return; }
  const max = Math.max(...entries.map(([, n]) => n), 1);
  box.replaceChildren(
    h("table", { class: "data", id: "sat-reasons-table" },
      h("caption", { class: "visually-hidden" }, t("sat.reasons")),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("sat.question")), h("th", { scope: "col", class: "num" }, t("sat.low_answers")), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, t("sat.share"))))),
      h("tbody", {}, ...entries.map(([key, n]) => h("tr", { "data-reason": key },
        h("td", {}, questionLabel(key)), h("td", { class: "num" }, fmtNumber(n)),
        h("td", {}, h("span", { class: "bar-inline sat-bar-low", style: `width:${Math.round((n / max) * 120)}px` })))))),
    w.comments?.length ? h("div", { class: "sat-comments" }, h("h3", {}, t("sat.comments")), h("ul", {}, ...w.comments.map((c) => h("li", {}, h("q", {}, c))))) : null,
  );
}

function ringsDriver(rows, limit) {
  $("#dr-hint").textContent = t("sat.drv_rings_hint", { n: limit });
  figuresTable($("#drv-rings"), rows, (g) => bucketLabel(g, limit), t("sat.bucket"), true);
  const speed = rows.map((r) => r.averages?.reach_speed ?? null);
  draw("chart-rings", {
    type: "bar",
    data: {
      labels: rows.map((r) => bucketLabel(r.group, limit)),
      datasets: [
        { label: t("sat.index"), data: rows.map((r) => r.index), backgroundColor: "#1d4ed8", yAxisID: "y" },
        { label: questionLabel("reach_speed"), data: speed, backgroundColor: "#0f766e", yAxisID: "y2" },
      ],
    },
    options: {
      scales: {
        y: { min: 0, max: 100, title: { display: true, text: t("sat.index_axis") } },
        y2: { position: "right", min: 1, max: 5, grid: { display: false }, title: { display: true, text: t("sat.score_axis") } },
      },
      plugins: { legend: { position: "bottom" } },
    },
  });
}

function bucketDriver(canvas, table, rows, limit, horizontal) {
  figuresTable($(table), rows, (g) => bucketLabel(g, limit), t("sat.bucket"), true);
  draw(canvas, {
    type: "bar",
    data: { labels: rows.map((r) => wrap(bucketLabel(r.group, limit))), datasets: [{ label: t("sat.index"), data: rows.map((r) => r.index), backgroundColor: rows.map((r) => indexColor(r.index)) }] },
    options: {
      indexAxis: horizontal ? "y" : "x",
      scales: { [horizontal ? "x" : "y"]: { min: 0, max: 100, title: { display: true, text: t("sat.index_axis") } } },
      plugins: { legend: { display: false }, tooltip: { callbacks: { label: (c) => t("sat.tip", { index: fmtIndex(c.raw), n: fmtNumber(rows[c.dataIndex].responses) }) } } },
    },
  });
}

form.addEventListener("submit", (e) => {
  e.preventDefault();
  history.replaceState(null, "", `?${new URLSearchParams({ since: form.since.value, until: form.until.value, by: form.by.value })}`);
  delete document.body.dataset.satReady;
  load();
});
load();
