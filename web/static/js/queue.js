// The QA review queue: flagged and sampled calls, most severe and newest first; j/k/enter.
import {
  $, SEVERITY_KIND, STATUS_KIND, api, badge, emptyRow, flagLabel, fmtDateTime, fmtRings, h,
  showError, t, themeLabel,
} from "./lib.js";

const SEVERITY_RANK = { critical: 0, high: 1, medium: 2, low: 3 };
const dayInput = $("#q-day");
const params = new URLSearchParams(location.search);
dayInput.value = params.get("day") || "";
let items = [];
let selected = 0;

async function load() {
  const body = $("#queue-body");
  try {
    const data = await api("/review-queue", { query: { day: dayInput.value } });
    items = data.items;
    dayInput.value = data.day;
  } catch (err) {
    showError($("#q-count"), err);
    items = [];
  }
  const queues = [...new Set(items.map((i) => i.queue).filter(Boolean))].sort();
  const qSel = $("#q-queue");
  const keep = qSel.value;
  qSel.replaceChildren(h("option", { value: "" }, t("common.all")), ...queues.map((q) => h("option", { value: q, selected: q === keep }, q)));
  render();
  body.focus?.();
}

function visible() {
  const source = $("#q-source").value;
  const queue = $("#q-queue").value;
  const status = $("#q-status").value;
  return items
    .filter((i) => (!source || i.source === source) && (!queue || i.queue === queue))
    .filter((i) => !status || (status === "todo") === (!i.review_status || i.review_status === "queued"))
    .sort((a, b) =>
      (SEVERITY_RANK[a.severity] ?? 9) - (SEVERITY_RANK[b.severity] ?? 9) || b.started_at.localeCompare(a.started_at));
}

function render() {
  const rows = visible();
  $("#q-count").textContent = t("queue.count", { n: rows.length });
  const body = $("#queue-body");
  if (!rows.length) { body.replaceChildren(emptyRow(8, t("queue.empty"))); return; }
  selected = Math.min(selected, rows.length - 1);
  body.replaceChildren(
    ...rows.map((i, n) => {
      const href = `/calls/${encodeURIComponent(i.call_id)}`;
      return h("tr", { tabindex: n === selected ? "0" : "-1", "data-href": href, class: n === selected ? "selected" : "", onclick: (e) => { if (!e.target.closest("a")) location.href = href; } },
        h("td", {}, i.severity ? badge(t(`severity.${i.severity}`), SEVERITY_KIND[i.severity]) : badge(t(`source.${i.source}`), "muted")),
        h("td", { class: "nowrap" }, h("a", { href }, fmtDateTime(i.started_at))),
        h("td", {}, i.reasons.length ? i.reasons.map((r) => h("div", { title: r.reason }, flagLabel(r.rule))) : h("span", { class: "muted" }, t("source.sampled"))),
        h("td", {}, i.themes.map((th) => badge(themeLabel(th), "theme"))),
        h("td", {}, i.agent || "–"),
        h("td", { class: "hide-narrow" }, i.queue || "–"),
        h("td", { class: "num" }, fmtRings(i.rings)),
        h("td", {}, badge(t(`review.${i.review_status || "queued"}`), STATUS_KIND[i.review_status || "queued"])));
    }),
  );
}

function move(delta) {
  const rows = [...document.querySelectorAll("#queue-body tr[data-href]")];
  if (!rows.length) return;
  rows[selected]?.classList.remove("selected");
  rows[selected]?.setAttribute("tabindex", "-1");
  selected = Math.max(0, Math.min(rows.length - 1, selected + delta));
  rows[selected].classList.add("selected");
  rows[selected].setAttribute("tabindex", "0");
  rows[selected].focus();
}

document.addEventListener("keydown", (e) => {
  if (e.target.closest("input, select, textarea")) return;
  if (e.key === "j" || e.key === "ArrowDown") { e.preventDefault(); move(1); }
  else if (e.key === "k" || e.key === "ArrowUp") { e.preventDefault(); move(-1); }
  else if (e.key === "Enter") {
    const row = document.querySelectorAll("#queue-body tr[data-href]")[selected];
    if (row) location.href = row.dataset.href;
  }
});
dayInput.addEventListener("change", load);
for (const id of ["#q-source", "#q-queue", "#q-status"]) $(id).addEventListener("change", () => { selected = 0; render(); });
load();
