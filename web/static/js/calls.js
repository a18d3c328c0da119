// Calls the user may see: filters, transcript text search, pages, CSV of the same filters.
import { $, api, emptyRow, fmtNumber, showError, t } from "./lib.js";
import { callRow, filterQuery } from "./rows.js";

const form = $("#calls-filters");
let page = 1;
const params = new URLSearchParams(location.search);
for (const el of form.elements) if (el.name && params.has(el.name)) el.value = params.get(el.name);

async function load() {
  const query = filterQuery(form);
  const body = $("#calls-body");
  $("#calls-csv").href = `/api/v1/calls/export.csv?${new URLSearchParams(query)}`;
  try {
    const data = await api("/calls", { query: { ...query, page, page_size: 50 } });
    $("#calls-count").textContent = t(data.total_exact ? "calls.count" : "calls.count_more", { n: fmtNumber(data.total) });
    body.replaceChildren(...(data.items.length ? data.items.map((c) => callRow(c, query.q)) : [emptyRow(9, t("calls.empty"))]));
    $("#page-no").textContent = t("common.page", { n: page });
    $("#prev").disabled = page <= 1;
    $("#next").disabled = page * data.page_size >= data.total;
  } catch (err) {
    showError($("#calls-count"), err);
  }
}
form.addEventListener("submit", (e) => {
  e.preventDefault();
  page = 1;
  const q = new URLSearchParams(Object.entries(Object.fromEntries(new FormData(form))).filter(([, v]) => v));
  history.replaceState(null, "", `?${q}`);
  load();
});
$("#prev").addEventListener("click", () => { page -= 1; load(); });
$("#next").addEventListener("click", () => { page += 1; load(); });
load();
