// The callback list: customers to call back about a call; open one to see the judged call and
// take the survey while on the phone (POST /surveys/calls/{call}/responses with the item id).
import {
  $, ApiError, api, badge, config, emptyRow, fmtClock, fmtDateTime, fmtNumber, fmtRings, fmtSeconds,
  flagLabel, h, showError, t, themeLabel, toast,
} from "./lib.js";

const form = $("#cb-filters");
const params = new URLSearchParams(location.search);
if (form.scope && params.get("scope")) form.scope.value = params.get("scope");
if (params.get("status")) form.status.value = params.get("status");

const STATUS_KIND = { open: "info", overdue: "danger", done: "ok" };
const REASON_KIND = { complaint: "danger", abandoned: "warn", sample: "muted" };
let items = [];
let selected = Number(params.get("item")) || null;
let surveyForm = null;

/** A message, or `fallback` when the catalogue has none (custom survey forms). */
const tOr = (key, fallback) => (t(key) === key ? fallback : t(key));
const questionLabel = (q) => tOr(`survey.q.${q.key}`, q.label);
const statusBadge = (status) => badge(t(`cb.status_${status}`), STATUS_KIND[status] || "muted");
const reasonBadge = (reason) => badge(tOr(`cb.reason_${reason}`, reason), REASON_KIND[reason] || "muted");

function query() {
  return { scope: form.scope ? form.scope.value : "me", status: form.status.value };
}

async function load() {
  const body = $("#cb-body");
  try {
    items = await api("/surveys/callbacks", { query: query() });
  } catch (err) { showError($("#cb-detail"), err); body.replaceChildren(emptyRow(6, t("common.error"))); return; }
  renderList();
  const again = items.find((i) => i.id === selected);
  if (again) open(again, false);
}

function renderList() {
  const open = items.filter((i) => i.status !== "done").length;
  $("#cb-count").textContent = t("cb.count", { n: fmtNumber(open) });
  $("#cb-body").replaceChildren(...(items.length ? items.map(row) : [emptyRow(6, t("cb.empty"))]));
}

/** The complaint themes named in an item's detail ("complaint: brakes, safety"), as labels. */
function reasonThemes(item) {
  if (item.reason !== "complaint" || !item.detail?.startsWith("complaint: ")) return [];
  return item.detail.slice(11).split(",").map((id) => badge(themeLabel(id.trim()), "theme"));
}

function row(item) {
  return h("tr", { "data-item": item.id, "data-status": item.status, class: item.id === selected ? "selected" : "" },
    h("td", {}, h("button", { type: "button", class: "linklike mono", onclick: () => open(item, true), "aria-label": t("cb.open_item", { number: item.number }) }, item.number)),
    h("td", {}, reasonBadge(item.reason)),
    h("td", { class: "hide-narrow" }, item.queue || "–"),
    h("td", { class: "hide-narrow" }, item.agent || t("cb.unassigned")),
    h("td", { class: "num hide-narrow" }, fmtDateTime(item.due_at)),
    h("td", {}, statusBadge(item.status), item.response_id ? badge(t("cb.answered"), "ok") : null));
}

async function open(item, focus) {
  selected = item.id;
  const url = new URL(location.href);
  url.searchParams.set("item", item.id);
  history.replaceState(null, "", url);
  for (const tr of document.querySelectorAll("#cb-body tr[data-item]")) tr.classList.toggle("selected", Number(tr.dataset.item) === item.id);
  const box = $("#cb-detail");
  box.replaceChildren(h("p", { class: "empty" }, t("common.loading")));
  let call = null;
  try {
    [call, surveyForm] = await Promise.all([
      item.call_id ? api(`/calls/${encodeURIComponent(item.call_id)}`) : null,
      surveyForm || api("/surveys/forms").then((forms) => forms[0]),
    ]);
  } catch (err) { showError(box, err); return; }
  if (selected !== item.id) return; // another item was opened meanwhile
  box.replaceChildren(
    h("div", { class: "cb-head" },
      h("p", { class: "cb-number" }, h("a", { href: `tel:${item.number}`, class: "mono" }, t("cb.call_to", { number: item.number }))),
      h("p", {}, reasonBadge(item.reason), ...reasonThemes(item)),
      h("p", { class: "muted" }, t("followup.due", { at: fmtDateTime(item.due_at) }))),
    completion(item),
    h("h3", {}, t("cb.judged"), " ", call ? h("a", { href: `/calls/${encodeURIComponent(call.call_id)}`, class: "cb-calllink" }, t("cb.open_call")) : null),
    call ? facts(call) : h("p", { class: "empty" }, t("call.not_found")),
    item.response_id || !item.call_id ? null : survey(item),
    item.status === "done" ? null : completeForm(item),
  );
  if (focus) {
    $("#cb-item").scrollIntoView({ block: "start" });
    $("#cb-item-h").focus({ preventScroll: true });
  }
}

function completion(item) {
  const lines = [h("div", {}, statusBadge(item.status), item.response_id ? badge(t("cb.answered"), "ok") : badge(t("cb.no_answers"), "muted"))];
  if (item.status === "done") {
    lines.push(h("p", {}, t("cb.done_by", { at: fmtDateTime(item.closed_at), by: item.closed_by || "–" })));
    if (item.closed_by_call_id) lines.push(h("p", {}, h("a", { href: `/calls/${encodeURIComponent(item.closed_by_call_id)}` }, t("cb.done_call", { call: item.closed_by_call_id }))));
    if (item.note) lines.push(h("p", { class: "muted" }, item.note));
  } else {
    lines.push(h("p", { class: "muted" }, t("cb.connector_hint")));
  }
  return h("div", { class: "cb-state", id: "cb-state", "data-status": item.status, "data-answered": item.response_id ? "true" : "false", role: "status" },
    h("h3", {}, t("cb.state")), ...lines);
}

function fact(label, value) {
  return [h("dt", {}, label), h("dd", {}, value)];
}

function facts(call) {
  const outcome = call.abandoned ? t("call.abandoned") : call.answered ? t("call.answered") : t("call.not_answered");
  const rings = call.rings === null || call.rings === undefined ? "–" : `${fmtRings(call.rings)} · ${fmtSeconds(call.ring_to_answer_s)}`;
  return h("dl", { class: "facts", id: "cb-facts" },
    ...fact(t("col.started"), fmtDateTime(call.started_at)),
    ...fact(t("col.queue"), call.queue || "–"),
    ...fact(t("col.agent"), call.agent || "–"),
    ...fact(t("col.ring_to_answer"), rings),
    ...fact(t("col.wait"), fmtSeconds(call.wait_s)),
    ...fact(t("col.talk"), call.talk_s === null ? "–" : fmtClock(call.talk_s)),
    ...fact(t("col.outcome"), call.answered_within_target === false ? `${outcome} · ${t("call.late")}` : outcome),
    ...fact(t("col.themes"), call.themes?.length ? call.themes.map((th) => badge(themeLabel(th), "theme")) : "–"),
    ...fact(t("call.flags"), call.flags?.length ? call.flags.map((f) => badge(flagLabel(f), "warn")) : "–"));
}

function scale(name, legend, values, labelOf, checked = null) {
  return h("fieldset", { class: "cb-q", "data-question": name },
    h("legend", {}, legend),
    h("div", { class: "cb-scale" }, ...values.map((v) => {
      const id = `cb-${name}-${v}`;
      return h("span", { class: "cb-choice" }, h("input", { type: "radio", name, id, value: v, checked: v === checked }), h("label", { for: id }, labelOf(v)));
    })));
}

function survey(item) {
  const questions = surveyForm?.questions || [];
  const error = h("div", { id: "cb-error", "aria-live": "assertive" });
  const el = h("form", { id: "cb-form", class: "cb-form", novalidate: true },
    h("h3", {}, t("cb.survey"), " ", h("span", { class: "muted cb-scale-hint" }, t("cb.scale"))),
    ...questions.map((q) => scale(`q-${q.key}`, questionLabel(q), [1, 2, 3, 4, 5], (v) => fmtNumber(v))),
    scale("recommend", t("cb.recommend"), ["yes", "no", ""], (v) => (v === "yes" ? t("common.yes") : v === "no" ? t("common.no") : t("cb.not_asked")), ""),
    h("div", { class: "field" }, h("label", { for: "cb-comment" }, t("cb.comment")), h("textarea", { id: "cb-comment", name: "comment", maxlength: "4000" })),
    error,
    h("button", { type: "submit", class: "btn btn-primary" }, t("cb.submit")));
  el.addEventListener("submit", async (e) => {
    e.preventDefault();
    const scores = {};
    for (const q of questions) {
      const v = el.querySelector(`input[name="q-${q.key}"]:checked`)?.value;
      if (v) scores[q.key] = Number(v);
    }
    if (!Object.keys(scores).length) {
      error.replaceChildren(h("p", { class: "form-error", role: "alert" }, t("cb.need_score")));
      return;
    }
    const recommend = el.querySelector('input[name="recommend"]:checked')?.value;
    const button = el.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const saved = await api(`/surveys/calls/${encodeURIComponent(item.call_id)}/responses`, {
        method: "POST",
        body: {
          scores,
          would_recommend: recommend === "yes" ? true : recommend === "no" ? false : null,
          comment: el.comment.value.trim() || null,
          form: surveyForm.name,
          callback_item_id: item.id,
        },
      });
      item.response_id = saved.id;
      toast(saved.dissatisfied ? t("cb.saved_low") : t("cb.saved"));
      renderList();
      open(item, false);
    } catch (err) {
      button.disabled = false;
      error.replaceChildren(h("p", { class: "form-error", role: "alert" }, err instanceof ApiError ? err.message : t("common.error")));
    }
  });
  return el;
}

function completeForm(item) {
  const el = h("form", { id: "cb-complete", class: "cb-complete" },
    h("div", { class: "field" }, h("label", { for: "cb-note" }, t("cb.note")),
      h("input", { id: "cb-note", name: "note", required: true, maxlength: "2000", value: item.response_id ? t("cb.note_default") : "" })),
    h("button", { type: "submit", class: "btn" }, t("cb.complete")));
  el.addEventListener("submit", async (e) => {
    e.preventDefault();
    const note = el.note.value.trim();
    if (!note) { el.note.focus(); return; }
    try {
      const done = await api(`/surveys/callbacks/${item.id}/complete`, { method: "POST", body: { note } });
      Object.assign(item, done);
      toast(t("cb.completed"));
      renderList();
      open(item, false);
    } catch (err) {
      toast(err instanceof ApiError ? err.message : t("common.error"), "error");
    }
  });
  return el;
}

form.addEventListener("submit", (e) => {
  e.preventDefault();
  const url = new URL(location.href);
  for (const [k, v] of Object.entries(query())) url.searchParams.set(k, v);
  history.replaceState(null, "", url);
  load();
});
if (config.user) load();
