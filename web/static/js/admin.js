// Admin: users and roles, the lexicon (add phrases, test a sentence live, versions), QA forms, audit.
import { $, $$, ApiError, api, badge, config, fmtDateTime, fmtNumber, h, showError, t, themeIds, themeLabel, toast } from "./lib.js";

// --- tabs (arrow keys move between them) ------------------------------------------------------
const tabs = $$("[role=tab]");
function select(tab) {
  for (const other of tabs) {
    const on = other === tab;
    other.setAttribute("aria-selected", String(on));
    other.tabIndex = on ? 0 : -1;
    $(`#${other.getAttribute("aria-controls")}`).hidden = !on;
  }
  tab.focus();
  history.replaceState(null, "", `#${tab.id.slice(4)}`);
}
for (const [i, tab] of tabs.entries()) {
  tab.addEventListener("click", () => select(tab));
  tab.addEventListener("keydown", (e) => {
    if (e.key === "ArrowRight") select(tabs[(i + 1) % tabs.length]);
    if (e.key === "ArrowLeft") select(tabs[(i - 1 + tabs.length) % tabs.length]);
  });
}
if (location.hash) { const tab = $(`#tab-${location.hash.slice(1)}`); if (tab) select(tab); }

const formError = (form, text) => { const el = form.querySelector(".form-error"); el.textContent = text; el.hidden = !text; };

// --- users --------------------------------------------------------------------------------------
async function users() {
  const table = $("#users-table");
  try {
    const list = await api("/users");
    table.replaceChildren(
      h("thead", {}, h("tr", {}, ...["col.username", "col.role", "col.agent", "col.queues", "col.active", ""].map((k) => h("th", { scope: "col" }, k ? t(k) : "")))),
      h("tbody", {}, ...list.map((u) => h("tr", { "data-user": u.username },
        h("td", {}, u.username), h("td", {}, t(`role.${u.role}`)), h("td", {}, u.agent_name || "–"), h("td", {}, u.queues.join(", ") || "–"),
        h("td", {}, u.active ? badge(t("common.yes"), "ok") : badge(t("common.no"), "muted")),
        h("td", {}, u.username === config.user.username ? "" : h("button", { class: "btn btn-sm", type: "button", onclick: () => toggle(u) }, t(u.active ? "admin.deactivate" : "admin.activate")))))));
  } catch (err) { showError(table, err); }
}
async function toggle(u) {
  try { await api(`/users/${u.id}`, { method: "PATCH", body: { active: !u.active } }); users(); } catch (err) { toast(err.message, "error"); }
}
$("#user-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = e.target;
  const body = { username: f.username.value.trim(), password: f.password.value, role: f.role.value };
  if (f.agent_name.value.trim()) body.agent_name = f.agent_name.value.trim();
  const queues = f.queues.value.split(",").map((q) => q.trim()).filter(Boolean);
  if (queues.length) body.queues = queues;
  try {
    await api("/users", { method: "POST", body });
    formError(f, "");
    toast(t("admin.created", { name: body.username }));
    f.reset();
    users();
  } catch (err) { formError(f, err instanceof ApiError ? err.message : t("common.error")); }
});

// --- lexicon ------------------------------------------------------------------------------------
$("#ph-theme").replaceChildren(...themeIds().map((id) => h("option", { value: id }, themeLabel(id))));
let timer = null;
$("#lx-test").addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(testSentence, 250); });
async function testSentence() {
  const text = $("#lx-test").value.trim();
  const box = $("#lx-result");
  if (!text) { box.replaceChildren(); return; }
  try {
    const out = await api("/lexicon/test", { method: "POST", body: { text } });
    box.replaceChildren(out.themes.length ? h("ul", { style: "margin:0;padding-left:1.1rem" }, ...out.themes.map((x) => h("li", {},
      badge(themeLabel(x.theme), "theme"), ` ${fmtNumber(x.score, 2)} · `,
      x.matches.map((m) => h("mark", { style: "margin-right:.3rem" }, m.text ?? m.phrase ?? JSON.stringify(m)))))) : h("p", { class: "muted" }, t("admin.test_none")));
  } catch (err) { showError(box, err); }
}
$("#phrase-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = e.target;
  const phrases = f.phrases.value.split("\n").map((p) => p.trim()).filter(Boolean);
  try {
    const out = await api("/lexicon/phrases", { method: "POST", body: { theme: f.theme.value, lang: f.lang.value, phrases, note: f.note.value.trim() || null } });
    formError(f, "");
    toast(t("admin.phrases_added", { v: out.version }));
    f.phrases.value = "";
    versions();
    testSentence();
  } catch (err) { formError(f, err instanceof ApiError ? err.message : t("common.error")); }
});
async function versions() {
  const table = $("#versions-table");
  try {
    const list = await api("/lexicon/versions");
    table.replaceChildren(
      h("thead", {}, h("tr", {}, ...["col.version", "col.created", "col.note", "nav.themes", "admin.phrases", ""].map((k) => h("th", { scope: "col" }, k ? t(k) : "")))),
      h("tbody", {}, ...list.map((v) => h("tr", {},
        h("td", {}, `v${v.version} `, v.active ? badge(t("admin.active"), "ok") : ""), h("td", {}, fmtDateTime(v.created_at)),
        h("td", {}, [v.note, v.created_by].filter(Boolean).join(" · ") || "–"), h("td", { class: "num" }, fmtNumber(v.themes)), h("td", { class: "num" }, fmtNumber(v.phrases)),
        h("td", {}, v.active ? "" : h("button", { class: "btn btn-sm", type: "button", onclick: () => activate(v.version) }, t("admin.activate_version")))))));
  } catch (err) { showError(table, err); }
}
async function activate(version) {
  try { await api(`/lexicon/versions/${version}/activate`, { method: "POST" }); versions(); } catch (err) { toast(err.message, "error"); }
}

// --- QA forms -----------------------------------------------------------------------------------
async function forms() {
  const box = $("#forms-list");
  try {
    const list = await api("/qa/forms", { query: { include_inactive: "true" } });
    box.replaceChildren(...list.map((f) => h("article", { class: "history-item" },
      h("h3", {}, f.name, " ", f.is_default ? badge(t("admin.default_form"), "info") : "", f.active ? "" : badge(t("common.no"), "muted")),
      h("ul", { style: "margin:0;padding-left:1.1rem" }, ...f.criteria.map((c) => h("li", {}, `${c.label} · ${t("qa.weight", { w: fmtNumber(c.weight, 1) })}`, c.critical ? h("span", { class: "crit", style: "color:var(--danger)" }, ` ${t("qa.critical")}`) : "", c.auto ? ` (${t("qa.auto_short")})` : ""))))));
  } catch (err) { showError(box, err); }
}
$("#form-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = e.target;
  const criteria = f.criteria.value.split("\n").map((l) => l.split("|").map((x) => x.trim())).filter((p) => p[0]).map(([key, label, weight, critical]) => ({
    key, label: label || key, weight: Number(weight || 1), max_score: 1, critical: /^(y|yes|1|true|是|예)$/i.test(critical || ""),
  }));
  try {
    await api("/qa/forms", { method: "POST", body: { name: f.name.value.trim(), criteria } });
    formError(f, "");
    toast(t("admin.form_created", { name: f.name.value.trim() }));
    f.reset();
    forms();
  } catch (err) { formError(f, err instanceof ApiError ? err.message : t("common.error")); }
});

// --- rules and audit ------------------------------------------------------------------------------
$("#rules-text").textContent = t("admin.rules_text", { cycle: fmtNumber(config.ring_cycle_s, 1), rings: config.target_rings, s: fmtNumber(config.target_rings * config.ring_cycle_s) });
async function queues() {
  const table = $("#queues-table");
  try {
    const list = await api("/queues");
    const num = (q, field, label, attrs) => h("input", { type: "number", name: field, "aria-label": `${q.name}: ${label}`, placeholder: t("admin.default_placeholder"), value: q[field] ?? "", style: "width:7rem", ...attrs });
    table.replaceChildren(
      h("thead", {}, h("tr", {}, ...["col.queue", "admin.ring_cycle", "admin.target_rings", "admin.queue_lang", "admin.retention_days", ""].map((k) => h("th", { scope: "col" }, k ? t(k) : "")))),
      h("tbody", {}, ...list.map((q) => {
        const lang = h("select", { name: "language", "aria-label": `${q.name}: ${t("admin.queue_lang")}` },
          h("option", { value: "" }, t("admin.lang_auto")), ...["zh", "ko", "en"].map((l) => h("option", { value: l, selected: q.language === l }, l)));
        const hint = h("div", { class: "muted", style: "font-size:.78rem" }, t("admin.in_force", { s: fmtNumber(q.effective_target_s, 1) }));
        const row = h("tr", { "data-queue": q.name },
          h("th", { scope: "row" }, q.name, hint),
          h("td", {}, num(q, "ring_cycle_s", t("admin.ring_cycle"), { min: "0.5", max: "60", step: "0.5" })),
          h("td", {}, num(q, "answer_target_rings", t("admin.target_rings"), { min: "1", max: "50", step: "1" })),
          h("td", {}, lang),
          h("td", {}, num(q, "retention_days", t("admin.retention_days"), { min: "0", step: "1" })),
          h("td", {}, h("button", { class: "btn", type: "button", onclick: () => saveQueue(q.name, row) }, t("common.save"))));
        return row;
      })));
  } catch (err) { showError(table, err); }
}
async function saveQueue(name, row) {
  const value = (field) => { const v = row.querySelector(`[name=${field}]`).value; return v === "" ? null : Number(v); };
  const language = row.querySelector("[name=language]").value || null;
  const body = { ring_cycle_s: value("ring_cycle_s"), answer_target_rings: value("answer_target_rings"), retention_days: value("retention_days"), language };
  try {
    await api(`/queues/${encodeURIComponent(name)}`, { method: "PATCH", body });
    toast(t("admin.queue_saved", { name }));
    queues();
  } catch (err) { toast(err.message, "error"); }
}
async function flagRules() {
  const box = $("#flag-rules-fields");
  try {
    const { rules } = await api("/flag-rules");
    box.replaceChildren(...rules.map((r) => {
      const id = `fr-${r.field}`;
      if (typeof r.setting === "boolean") {
        return h("div", { class: "field" }, h("label", { for: id }, t(`rule.${r.field}`)),
          h("select", { id, name: r.field },
            h("option", { value: "", selected: r.source === "settings" }, `${t("admin.from_settings")}: ${r.setting ? t("common.yes") : t("common.no")}`),
            h("option", { value: "true", selected: r.source === "console" && r.value === true }, t("common.yes")),
            h("option", { value: "false", selected: r.source === "console" && r.value === false }, t("common.no"))));
      }
      const text = typeof r.setting === "string";
      return h("div", { class: "field" }, h("label", { for: id }, t(`rule.${r.field}`)),
        h("input", { id, name: r.field, type: text ? "text" : "number", step: "any", min: text ? null : "0", placeholder: String(r.setting), value: r.source === "console" ? String(r.value) : "" }));
    }));
  } catch (err) { showError(box, err); }
}
$("#flag-rules-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = e.target;
  const body = {};
  for (const el of f.querySelectorAll("input, select")) {
    if (el.value === "") continue;
    body[el.name] = el.tagName === "SELECT" ? el.value === "true" : el.type === "number" ? Number(el.value) : el.value;
  }
  try {
    await api("/flag-rules", { method: "PUT", body });
    formError(f, "");
    toast(t("admin.rules_saved"));
    flagRules();
  } catch (err) { formError(f, err instanceof ApiError ? err.message : t("common.error")); }
});
async function audit() {
  const table = $("#audit-table");
  try {
    const page = await api("/audit", { query: { page_size: 50 } });
    table.replaceChildren(
      h("thead", {}, h("tr", {}, ...["col.when", "col.username", "col.action", "col.object"].map((k) => h("th", { scope: "col" }, t(k))))),
      h("tbody", {}, ...page.items.map((a) => h("tr", {}, h("td", {}, fmtDateTime(a.at)), h("td", {}, a.username), h("td", { class: "mono" }, a.action), h("td", { class: "mono" }, [a.object_type, a.object_id].filter(Boolean).join(" "))))));
  } catch (err) { showError(table, err); }
}

users();
versions();
forms();
queues();
flagRules();
audit();
