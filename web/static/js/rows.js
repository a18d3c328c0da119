// Table rows and filter helpers shared by the call list, the agent home and the themes page.
import { STATUS_KIND, badge, fmtClock, fmtDateTime, fmtRings, h, t, themeLabel } from "./lib.js";

/** API query parameters from a filter form (dates are whole days in the hotline's zone). */
export function filterQuery(form) {
  const v = (name) => form.elements[name]?.value?.trim() || "";
  const query = {};
  if (v("since")) query.since = `${v("since")}T00:00:00`;
  if (v("until")) {
    const d = new Date(`${v("until")}T00:00:00Z`);
    d.setUTCDate(d.getUTCDate() + 1);
    query.until = d.toISOString().slice(0, 19);
  }
  for (const name of ["queue", "agent", "q"]) if (v(name)) query[name] = v(name);
  const outcome = v("outcome");
  if (outcome === "within") query.within_target = "true";
  if (outcome === "late") query.within_target = "false";
  if (outcome === "abandoned") query.abandoned = "true";
  return query;
}

export function outcomeBadge(c) {
  if (c.abandoned) return badge(t("call.abandoned"), "danger");
  if (!c.answered) return badge(t("call.not_answered"), "muted");
  if (c.answered_within_target === false) return badge(t("call.late"), "warn");
  return badge(t("call.within_target"), "ok");
}

/** Text with every case-insensitive occurrence of `needle` wrapped in <mark>. */
export function highlighted(text, needle) {
  if (!needle) return [text];
  const out = [];
  const lower = text.toLowerCase();
  const n = needle.toLowerCase();
  let pos = 0;
  for (let i = lower.indexOf(n); i !== -1; i = lower.indexOf(n, pos)) {
    out.push(text.slice(pos, i), h("mark", {}, text.slice(i, i + n.length)));
    pos = i + n.length;
  }
  out.push(text.slice(pos));
  return out;
}

export function callRow(c, needle) {
  const href = `/calls/${encodeURIComponent(c.call_id)}${needle ? `?q=${encodeURIComponent(needle)}` : ""}`;
  return h("tr", { "data-call": c.call_id },
    h("td", {}, h("a", { href }, fmtDateTime(c.started_at))),
    h("td", {}, c.queue || "–"),
    h("td", { class: "hide-narrow mono" }, c.caller_number || "–"),
    h("td", {}, c.agent || "–"),
    h("td", { class: "num" }, fmtRings(c.rings)),
    h("td", { class: "num hide-narrow" }, c.talk_s === null ? "–" : fmtClock(c.talk_s)),
    h("td", {}, outcomeBadge(c), c.flags?.length ? badge(t("calls.flagged"), "danger") : null),
    h("td", {}, (c.themes || []).map((th) => badge(themeLabel(th), "theme"))),
    h("td", { class: "hide-narrow" }, c.review_status ? badge(t(`review.${c.review_status}`), STATUS_KIND[c.review_status]) : "–"));
}
