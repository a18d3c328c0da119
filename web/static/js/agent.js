// An agent's home: my within-target rate, my reviews to answer, my open follow-ups, my calls.
import { $, STATUS_KIND, api, badge, emptyRow, fmtDateTime, fmtNumber, fmtPercent, h, showError, t } from "./lib.js";
import { callRow } from "./rows.js";

function kpi(label, value, hint, kind = "") {
  return h("div", { class: `kpi ${kind}` }, h("div", { class: "label" }, label), h("div", { class: "value" }, value), hint ? h("div", { class: "hint" }, hint) : null);
}

async function kpis() {
  const box = $("#agent-kpis");
  try {
    const since = new Date(Date.now() - 30 * 86400e3).toISOString();
    const [answered, within, abandoned] = await Promise.all([
      api("/calls", { query: { answered: "true", since, page_size: 1 } }),
      api("/calls", { query: { within_target: "true", since, page_size: 1 } }),
      api("/calls", { query: { abandoned: "true", since, page_size: 1 } }),
    ]);
    const rate = answered.total ? within.total / answered.total : null;
    box.replaceChildren(
      kpi(t("agent.rate"), fmtPercent(rate), t("agent.rate_hint", { n: fmtNumber(within.total), of: fmtNumber(answered.total) }), rate === null ? "" : rate >= 0.8 ? "good" : "bad"),
      kpi(t("agent.answered"), fmtNumber(answered.total), t("agent.last30")),
      kpi(t("agent.missed"), fmtNumber(abandoned.total), t("agent.last30")),
    );
  } catch (err) { showError(box, err); }
}

async function reviews() {
  const box = $("#my-reviews");
  try {
    const page = await api("/reviews", { query: { page_size: 20 } });
    if (!page.items.length) { box.replaceChildren(h("p", { class: "empty" }, t("qa.no_reviews"))); return; }
    box.replaceChildren(h("ul", { style: "list-style:none;margin:0;padding:0" }, ...page.items.map((r) =>
      h("li", { style: "padding:.4rem 0;border-bottom:1px solid #edf0f3", "data-review": r.id },
        h("a", { href: `/calls/${encodeURIComponent(r.call_id)}` }, fmtDateTime(r.call_started_at)), " ",
        h("strong", { class: r.failed ? "score fail" : "score", style: "font-size:1rem" }, fmtNumber(r.total_score, 1)), " ",
        badge(t(`review.${r.status}`), STATUS_KIND[r.status]),
        r.status === "submitted" ? badge(t("agent.needs_answer"), "warn") : null,
        h("div", { class: "muted" }, `${r.form_name} · ${r.reviewer}`)))));
  } catch (err) { showError(box, err); }
}

async function followups() {
  const box = $("#my-followups");
  try {
    const page = await api("/followups", { query: { status: "open", page_size: 20 } });
    if (!page.items.length) { box.replaceChildren(h("p", { class: "empty" }, t("agent.no_followups"))); return; }
    box.replaceChildren(h("ul", { style: "list-style:none;margin:0;padding:0" }, ...page.items.map((f) =>
      h("li", { style: "padding:.4rem 0;border-bottom:1px solid #edf0f3" },
        badge(t(`followup.${f.status}`), f.status === "overdue" ? "danger" : "info"), " ",
        h("a", { href: `/calls/${encodeURIComponent(f.call_id)}` }, f.number || f.call_id),
        h("div", { class: "muted" }, `${f.reason} · ${t("followup.due", { at: fmtDateTime(f.due_at) })}`)))));
  } catch (err) { showError(box, err); }
}

async function calls() {
  const body = $("#my-calls-body");
  try {
    const page = await api("/calls", { query: { page_size: 25 } });
    body.replaceChildren(...(page.items.length ? page.items.map((c) => callRow(c)) : [emptyRow(9, t("calls.empty"))]));
  } catch (err) { showError(body, err); }
}

kpis();
reviews();
followups();
calls();
