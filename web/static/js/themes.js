// Complaint themes: this period against the one before, rising phrases, drill-down, search.
import { PALETTE, draw } from "./charts.js";
import { $, SEVERITY_KIND, api, badge, fmtDateTime, fmtNumber, fmtPercent, h, isoDay, showError, t, themeLabel } from "./lib.js";
import { highlighted } from "./rows.js";

const form = $("#th-filters");
const params = new URLSearchParams(location.search);
form.until.value = params.get("until") || isoDay(new Date());
form.days.value = params.get("days") || "7";
let report = null;

function range() {
  const until = new Date(`${form.until.value}T00:00:00Z`);
  until.setUTCDate(until.getUTCDate() + 1);
  const since = new Date(until.getTime() - Number(form.days.value) * 86400e3);
  return { since: since.toISOString().slice(0, 19), until: until.toISOString().slice(0, 19) };
}

async function load() {
  try {
    report = await api("/reports/themes", { query: { ...range(), top_phrases: 8 } });
  } catch (err) { showError($("#themes-table"), err); return; }
  $("#th-meta").textContent = `· ${t("themes.transcribed", { n: fmtNumber(report.calls_transcribed) })}`;
  const themes = report.themes;
  draw("chart-themes", {
    type: "bar",
    data: {
      labels: themes.map((x) => themeLabel(x.theme)),
      datasets: [
        { label: t("themes.this"), data: themes.map((x) => x.calls), backgroundColor: PALETTE[0] },
        { label: t("themes.last"), data: themes.map((x) => x.previous_calls), backgroundColor: "#a3b1c6" },
      ],
    },
    options: { plugins: { legend: { position: "bottom" } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
  $("#themes-table").replaceChildren(
    h("caption", { class: "visually-hidden" }, t("themes.table")),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("admin.theme")), h("th", { scope: "col", class: "num" }, t("col.calls")), h("th", { scope: "col", class: "num" }, t("col.previous")), h("th", { scope: "col", class: "num" }, t("col.change")), h("th", { scope: "col" }, ""))),
    h("tbody", {}, ...(themes.length ? themes.map((x) => h("tr", {},
      h("th", { scope: "row", style: "font-weight:500;color:inherit" }, themeLabel(x.theme)),
      h("td", { class: "num" }, fmtNumber(x.calls)), h("td", { class: "num" }, fmtNumber(x.previous_calls)),
      h("td", { class: `num ${x.change > 0 ? "trend-up" : x.change < 0 ? "trend-down" : ""}` }, `${x.change > 0 ? "▲ +" : x.change < 0 ? "▼ " : ""}${fmtNumber(x.change)}${x.change_rate !== null ? ` (${fmtPercent(x.change_rate, 0)})` : ""}`),
      h("td", {}, h("button", { class: "btn btn-sm", type: "button", onclick: () => drill(x.theme) }, t("themes.show_calls"))))) : [h("tr", {}, h("td", { colspan: 5, class: "empty" }, t("themes.empty")))])));
  const rising = themes.flatMap((x) => x.rising_phrases.map((p) => ({ ...p, theme: x.theme }))).sort((a, b) => b.change - a.change).slice(0, 12);
  $("#rising").replaceChildren(rising.length ? h("table", { class: "data" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("col.phrase")), h("th", { scope: "col" }, t("admin.theme")), h("th", { scope: "col", class: "num" }, t("col.calls")), h("th", { scope: "col", class: "num" }, t("col.change")))),
    h("tbody", {}, ...rising.map((p) => h("tr", {},
      h("td", {}, h("a", { href: "#search-results", onclick: () => search(p.phrase) }, p.phrase)), h("td", {}, themeLabel(p.theme)),
      h("td", { class: "num" }, fmtNumber(p.matches)), h("td", { class: "num trend-up" }, `+${fmtNumber(p.change)}`))))) : h("p", { class: "empty" }, t("themes.empty")));
  if (params.get("theme")) drill(params.get("theme"));
}

async function drill(theme) {
  const box = $("#drill");
  $("#dr-h").textContent = t("themes.drill", { theme: themeLabel(theme) });
  try {
    const page = await api("/flags", { query: { ...range(), rule: `theme:${theme}`, page_size: 50 } });
    box.replaceChildren(page.items.length ? h("ul", { style: "list-style:none;margin:0;padding:0" }, ...page.items.map((f) => h("li", { style: "padding:.35rem 0;border-bottom:1px solid #edf0f3" },
      badge(t(`severity.${f.severity}`), SEVERITY_KIND[f.severity]), " ",
      h("a", { href: `/calls/${encodeURIComponent(f.call_id)}` }, fmtDateTime(f.started_at)), ` · ${f.agent || "–"} · ${f.queue || "–"}`,
      h("div", { class: "muted" }, f.reason)))) : h("p", { class: "empty" }, t("calls.empty")));
  } catch (err) { showError(box, err); }
}

async function search(q) {
  $("#search-q").value = q;
  const box = $("#search-results");
  try {
    const page = await api("/calls", { query: { q, page_size: 25 } });
    if (!page.items.length) { box.replaceChildren(h("p", { class: "empty" }, t("themes.no_hits"))); return; }
    const details = await Promise.all(page.items.slice(0, 10).map((c) => api(`/calls/${encodeURIComponent(c.call_id)}`)));
    box.replaceChildren(...details.map((c) => {
      const lines = (c.transcript?.segments || []).filter((s) => s.text.toLowerCase().includes(q.toLowerCase()));
      return h("article", { class: "history-item", "data-call": c.call_id },
        h("p", {}, h("a", { href: `/calls/${encodeURIComponent(c.call_id)}` }, fmtDateTime(c.started_at)), ` · ${c.agent || "–"} · ${c.queue || "–"}`),
        ...lines.map((s) => h("p", { class: "muted" }, `${t(`speaker.${s.speaker}`)}: `, ...highlighted(s.text, q))));
    }));
  } catch (err) { showError(box, err); }
}

form.addEventListener("submit", (e) => { e.preventDefault(); load(); });
$("#search-form").addEventListener("submit", (e) => { e.preventDefault(); search($("#search-q").value.trim()); });
load();
