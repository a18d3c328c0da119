// The call page: waveform player, transcript synced to playback, facts, flags, QA scorecard.
import WaveSurfer from "/static/vendor/wavesurfer.esm.js";
import RegionsPlugin from "/static/vendor/wavesurfer-regions.esm.js";
import TimelinePlugin from "/static/vendor/wavesurfer-timeline.esm.js";
import {
  $, ApiError, SEVERITY_KIND, STATUS_KIND, api, apiOptional, badge, config, flagLabel, fmtClock,
  fmtDateTime, fmtNumber, fmtPercent, fmtRings, fmtSeconds, h, showError, t, themeLabel, toast,
} from "./lib.js";

const callId = config.call_id;
const enc = encodeURIComponent(callId);
const COLORS = { customer: "#0f766e", agent: "#6d28d9", unknown: "#64748b" };
const SILENCE_S = 2.0;

let master = null; // the WaveSurfer whose audio is heard
const lanes = []; // other WaveSurfers drawn in step with it
let segments = [];
let call = null;

// --- loading ----------------------------------------------------------------------------------

async function main() {
  try {
    call = await api(`/calls/${enc}`);
  } catch (err) {
    const box = $("#call-error");
    if (err instanceof ApiError && err.status === 404) {
      box.replaceChildren(h("p", { class: "form-error", role: "alert" }, t("call.not_found")));
    } else showError(box, err);
    return;
  }
  segments = call.transcript?.segments || [];
  renderHead();
  renderFacts();
  const [themes, flags] = await Promise.all([
    apiOptional(`/calls/${enc}/themes`).catch(() => null),
    apiOptional(`/calls/${enc}/flags`).catch(() => null),
  ]);
  renderTranscript(themes?.matches || []);
  renderFlags(flags);
  renderFollowup();
  setupPlayer(themes?.matches || []);
  loadReviews();
  if ($("#scorecard")) loadScorecard();
}

function renderHead() {
  const who = call.caller_name ? `${call.caller_name} · ${call.caller_number || ""}` : call.caller_number || t("call.unknown_caller");
  $("#call-sub").replaceChildren(
    `${fmtDateTime(call.started_at)} · ${call.queue || t("call.no_queue")} · ${who}`,
  );
  const badges = [];
  if (call.abandoned) badges.push(badge(t("call.abandoned"), "danger"));
  else if (call.answered_within_target === true) badges.push(badge(t("call.within_target"), "ok"));
  else if (call.answered_within_target === false) badges.push(badge(t("call.late"), "warn"));
  for (const theme of call.themes || []) badges.push(badge(themeLabel(theme), "theme"));
  $("#call-badges").replaceChildren(...badges);
}

function fact(label, value) {
  return [h("dt", {}, label), h("dd", {}, value)];
}

function renderFacts() {
  const ringText =
    call.rings !== null && call.rings !== undefined
      ? `${fmtRings(call.rings)} · ${fmtSeconds(call.ring_to_answer_s)}`
      : "–";
  $("#facts").replaceChildren(
    ...fact(t("col.queue"), call.queue || "–"),
    ...fact(t("col.caller"), [call.caller_number || "–", call.caller_name ? ` (${call.caller_name})` : ""].join("")),
    ...fact(t("col.agent"), call.agent || "–"),
    ...fact(t("col.direction"), t(`direction.${call.direction}`)),
    ...fact(t("col.started"), fmtDateTime(call.started_at)),
    ...fact(t("col.ring_to_answer"), ringText),
    ...fact(t("col.wait"), fmtSeconds(call.wait_s)),
    ...fact(t("col.talk"), call.talk_s === null ? "–" : fmtClock(call.talk_s)),
    ...fact(t("col.outcome"), call.abandoned ? t("call.abandoned") : call.answered ? t("call.answered") : t("call.not_answered")),
    ...fact(t("col.transcript"), t(`transcript.${call.transcript_status}`)),
  );
  renderAttempts();
}

function renderAttempts() {
  const box = $("#attempts");
  const rows = call.timeline || [];
  if (!rows.length) {
    box.replaceChildren(h("p", { class: "empty" }, t("call.no_attempts")));
    return;
  }
  const start = new Date(call.started_at).getTime();
  const spans = rows.map((a) => {
    const from = a.started_at ? (new Date(a.started_at).getTime() - start) / 1000 : 0;
    return { ...a, from: Math.max(0, from), to: Math.max(0, from) + (a.ring_s || 0) };
  });
  const targetS = config.target_rings * config.ring_cycle_s;
  const total = Math.max(targetS * 1.15, ...spans.map((s) => s.to), 1);
  const pct = (s) => `${((s / total) * 100).toFixed(2)}%`;
  box.replaceChildren(
    ...spans.map((s) =>
      h(
        "div",
        { class: "attempt-row" },
        h("span", { title: s.agent }, s.agent),
        h(
          "div",
          { class: "attempt-track", role: "img", "aria-label": t("call.attempt_aria", { agent: s.agent, from: fmtNumber(s.from, 1), ring: fmtNumber(s.ring_s, 1), outcome: t(`outcome.${s.outcome}`) }) },
          h("span", { class: `attempt-bar ${s.outcome === "answered" ? "answered" : ""}`, style: `left:${pct(s.from)};width:${pct(Math.max(s.to - s.from, total / 100))}` }),
          h("span", { class: "attempt-bar target", style: `left:${pct(targetS)};width:0`, title: t("call.target_line", { rings: config.target_rings }) }),
        ),
        h("span", { class: "num" }, t(`outcome.${s.outcome}`)),
      ),
    ),
    h("p", { class: "muted", style: "font-size:.8rem" }, t("call.attempts_hint", { rings: config.target_rings, s: fmtNumber(targetS) })),
  );
}

// --- transcript -------------------------------------------------------------------------------

function renderTranscript(matches) {
  const box = $("#transcript");
  const tr = call.transcript;
  if (!tr || tr.status !== "done") {
    box.replaceChildren(h("p", { class: "empty" }, t(`transcript.${tr ? tr.status : "none"}`)));
    return;
  }
  $("#tr-meta").textContent = [tr.language ? t("call.language", { lang: tr.language }) : "", tr.redacted ? t("call.redacted") : ""].filter(Boolean).join(" · ");
  const bySegment = new Map();
  for (const m of matches) {
    if (!bySegment.has(m.segment)) bySegment.set(m.segment, []);
    bySegment.get(m.segment).push(m);
  }
  box.replaceChildren(
    ...segments.map((seg) => {
      const text = h("p", { class: "text" });
      const own = (bySegment.get(seg.seq) || []).sort((a, b) => a.start - b.start);
      let pos = 0;
      for (const m of own) {
        if (m.start < pos) continue;
        text.append(seg.text.slice(pos, m.start));
        text.append(
          h("button", {
            type: "button",
            class: "kw",
            title: t("call.kw_title", { theme: themeLabel(m.theme) }),
            "data-seek": m.time_s ?? seg.start_s,
            onclick: (e) => { e.stopPropagation(); seek(Number(e.currentTarget.dataset.seek)); },
          }, seg.text.slice(m.start, m.end)),
        );
        pos = m.end;
      }
      text.append(seg.text.slice(pos));
      return h(
        "div",
        {
          class: `line ${seg.speaker}`,
          tabindex: "0",
          role: "button",
          "data-start": seg.start_s,
          "data-end": seg.end_s,
          "aria-label": t("call.line_aria", { who: t(`speaker.${seg.speaker}`), at: fmtClock(seg.start_s) }),
          onclick: () => seek(seg.start_s),
          onkeydown: (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); seek(seg.start_s); } },
        },
        h("span", { class: "who" }, t(`speaker.${seg.speaker}`), h("span", { class: "at" }, fmtClock(seg.start_s))),
        text,
      );
    }),
  );
}

let currentLine = null;
function highlight(time) {
  const lines = document.querySelectorAll("#transcript .line");
  let found = null;
  for (const line of lines) {
    if (time >= Number(line.dataset.start) && time < Number(line.dataset.end) + 0.25) found = line;
  }
  if (found === currentLine) return;
  currentLine?.classList.remove("current");
  currentLine?.removeAttribute("aria-current");
  currentLine = found;
  if (found) {
    found.classList.add("current");
    found.setAttribute("aria-current", "true");
    const box = $("#transcript");
    const top = found.offsetTop - box.offsetTop;
    if (top < box.scrollTop || top > box.scrollTop + box.clientHeight - 40) box.scrollTo({ top: top - 40 });
  }
}

// --- player -----------------------------------------------------------------------------------

function recordingUrl(leg) {
  return `/api/v1/calls/${enc}/recording?leg=${leg}`;
}

function lane(leg, height, primary) {
  const holder = h("div", { class: "wave", "data-leg": leg },
    h("span", { class: "wave-label", style: `color:${COLORS[leg] || "#334155"}` }, t(`leg.${leg}`)));
  $("#waves").append(holder);
  const regions = RegionsPlugin.create();
  const plugins = [regions];
  if (primary) plugins.push(TimelinePlugin.create({ height: 14, style: { fontSize: "10px", color: "#4a5565" } }));
  const ws = WaveSurfer.create({
    container: holder,
    url: recordingUrl(leg),
    height,
    waveColor: leg === "agent" ? "#c4b5fd" : leg === "customer" ? "#99d5cf" : "#a3b1c6",
    progressColor: leg === "agent" ? "#6d28d9" : leg === "customer" ? "#0f766e" : "#1d4ed8",
    cursorColor: "#111827",
    cursorWidth: 2,
    barWidth: 2,
    barGap: 1,
    barRadius: 1,
    normalize: true,
    dragToSeek: true,
    plugins,
  });
  ws.regionsPlugin = regions;
  ws.leg = leg;
  return ws;
}

function setupPlayer(matches) {
  const rec = call.recording || {};
  const legs = ["customer", "agent"].filter((l) => rec[l]);
  if (!rec.mixed && !legs.length) {
    $("#waves").replaceChildren(h("p", { class: "empty" }, t("call.no_recording")));
    return;
  }
  const masterLeg = rec.mixed ? "mixed" : legs[0];
  master = lane(masterLeg, legs.length && rec.mixed ? 56 : 80, true);
  for (const leg of legs) if (leg !== masterLeg) lanes.push(lane(leg, 44, false));
  for (const ws of lanes) {
    ws.setMuted(true);
    ws.on("interaction", (time) => seek(time));
  }
  $("#player-status").textContent = t("call.loading_audio");
  master.on("ready", (duration) => {
    $("#t-total").textContent = fmtClock(duration);
    $("#player-status").textContent = "";
    for (const b of ["#play", "#back5", "#fwd5"]) $(b).disabled = false;
    drawMarks(matches);
    document.body.dataset.playerReady = "1";
  });
  master.on("error", () => { $("#player-status").textContent = t("call.audio_error"); });
  master.on("timeupdate", (time) => {
    const now = $("#t-now");
    now.textContent = fmtClock(time);
    now.dataset.seconds = time.toFixed(2);
    highlight(time);
    for (const ws of lanes) if (Math.abs(ws.getCurrentTime() - time) > 0.15) ws.setTime(time);
  });
  const setPlaying = (playing) => {
    const btn = $("#play");
    btn.setAttribute("aria-pressed", String(playing));
    btn.replaceChildren(playing ? "❚❚ " : "▶ ", h("span", {}, t(playing ? "call.pause" : "call.play")));
  };
  master.on("play", () => setPlaying(true));
  master.on("pause", () => setPlaying(false));
  master.on("finish", () => setPlaying(false));
  $("#play").addEventListener("click", () => master.playPause());
  $("#back5").addEventListener("click", () => seek(master.getCurrentTime() - 5));
  $("#fwd5").addEventListener("click", () => seek(master.getCurrentTime() + 5));
  $("#rate").addEventListener("change", (e) => master.setPlaybackRate(Number(e.target.value)));
  document.addEventListener("keydown", (e) => {
    if (e.target.closest("input, textarea, select, button, [role=button]")) return;
    if (e.key === " " || e.key === "k") { e.preventDefault(); master.playPause(); }
    else if (e.key === "ArrowLeft" || e.key === "j") seek(master.getCurrentTime() - 5);
    else if (e.key === "ArrowRight" || e.key === "l") seek(master.getCurrentTime() + 5);
  });
}

function seek(time) {
  if (!master) return;
  const duration = master.getDuration() || 0;
  const to = Math.max(0, Math.min(time, duration || time));
  master.setTime(to);
}

function drawMarks(matches) {
  const masterRegions = master.regionsPlugin;
  const byLeg = Object.fromEntries(lanes.map((ws) => [ws.leg, ws.regionsPlugin]));
  // speaker turns: on the speaker's own leg when it has a lane, else on the main lane
  for (const seg of segments) {
    const target = byLeg[seg.speaker] || masterRegions;
    target.addRegion({ start: seg.start_s, end: Math.max(seg.end_s, seg.start_s + 0.05), color: `${COLORS[seg.speaker] || COLORS.unknown}22`, drag: false, resize: false });
  }
  // silences: gaps of SILENCE_S or more between turns
  let last = 0;
  for (const seg of segments) {
    if (seg.start_s - last >= SILENCE_S) masterRegions.addRegion({ start: last, end: seg.start_s, color: "rgba(148,163,184,.28)", drag: false, resize: false });
    last = Math.max(last, seg.end_s);
  }
  const duration = master.getDuration();
  if (segments.length && duration - last >= SILENCE_S) masterRegions.addRegion({ start: last, end: duration, color: "rgba(148,163,184,.28)", drag: false, resize: false });
  for (const m of matches) {
    if (m.time_s === null || m.time_s === undefined) continue;
    masterRegions.addRegion({ start: m.time_s, end: Math.max(m.time_end_s ?? m.time_s + 0.3, m.time_s + 0.15), color: "rgba(245,158,11,.45)", content: themeLabel(m.theme), drag: false, resize: false });
  }
  for (const r of masterRegions.getRegions()) r.element?.setAttribute("aria-hidden", "true");
}

// --- flags and follow-up ----------------------------------------------------------------------

function renderFlags(flags) {
  const box = $("#flags");
  if (flags === null) { box.replaceChildren(h("p", { class: "empty" }, t("call.no_flags"))); return; }
  if (!flags.length) { box.replaceChildren(h("p", { class: "empty" }, t("call.no_flags"))); return; }
  box.replaceChildren(
    h("ul", { class: "flag-list", style: "list-style:none;margin:0;padding:0" },
      ...flags.map((f) => h("li", { style: "padding:.3rem 0;border-bottom:1px solid #edf0f3" },
        badge(t(`severity.${f.severity}`), SEVERITY_KIND[f.severity]), " ",
        h("strong", {}, flagLabel(f.rule)), h("div", { class: "muted" }, f.reason)))),
  );
}

async function renderFollowup() {
  const box = $("#followup");
  const at = new Date(call.started_at).getTime();
  try {
    const page = await apiOptional("/followups", {
      query: { since: new Date(at - 1000).toISOString(), until: new Date(at + 1000).toISOString(), page_size: 50 },
    });
    const f = page?.items.find((x) => x.call_id === callId);
    if (!f) { box.replaceChildren(h("p", { class: "muted" }, t("call.no_followup"))); return; }
    const kind = f.status === "done" ? (f.on_time ? "ok" : "warn") : f.status === "overdue" ? "danger" : "info";
    box.replaceChildren(
      h("p", {}, badge(t(`followup.${f.status}`), kind), " ", f.reason),
      h("p", { class: "muted" }, t("followup.due", { at: fmtDateTime(f.due_at) }),
        f.closed_at ? ` · ${t("followup.closed", { at: fmtDateTime(f.closed_at), by: f.closed_by || "" })}` : ""),
    );
  } catch {
    box.replaceChildren(h("p", { class: "muted" }, t("call.no_followup")));
  }
}

// --- QA ---------------------------------------------------------------------------------------

async function loadScorecard() {
  const form = $("#scorecard");
  let forms;
  try {
    forms = await api("/qa/forms");
  } catch (err) { showError(form, err); return; }
  if (!forms.length) { form.replaceChildren(h("p", { class: "empty" }, t("qa.no_forms"))); return; }
  const chosen = forms.find((f) => f.is_default) || forms[0];
  const picker = h("select", { id: "qa-form", name: "form" }, ...forms.map((f) => h("option", { value: f.id, selected: f.id === chosen.id }, f.name)));
  const criteriaBox = h("div", { class: "criteria" });
  const drawCriteria = () => {
    const f = forms.find((x) => String(x.id) === picker.value);
    criteriaBox.replaceChildren(...f.criteria.map((c) => criterionInput(c)));
  };
  picker.addEventListener("change", drawCriteria);
  const comment = h("textarea", { id: "qa-comment", name: "comment", maxlength: "4000" });
  const error = h("p", { class: "form-error", role: "alert", hidden: true });
  form.replaceChildren(
    h("div", { class: "field" }, h("label", { for: "qa-form" }, t("qa.form")), picker),
    criteriaBox,
    h("div", { class: "field", style: "margin-top:.6rem" }, h("label", { for: "qa-comment" }, t("qa.comment")), comment),
    error,
    h("button", { class: "btn btn-primary", type: "submit" }, t("qa.submit")),
  );
  drawCriteria();
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.hidden = true;
    const scores = [];
    for (const sel of form.querySelectorAll("select[data-criterion]")) {
      if (sel.value === "") {
        error.textContent = t("qa.missing", { label: sel.dataset.label });
        error.hidden = false;
        sel.focus();
        return;
      }
      if (sel.value === "auto") continue;
      scores.push({ criterion: sel.dataset.criterion, score: sel.value === "na" ? null : Number(sel.value) });
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const review = await api(`/calls/${enc}/reviews`, {
        method: "POST",
        body: { form_id: Number(picker.value), scores, comment: comment.value.trim() || null },
      });
      toast(t("qa.saved", { score: fmtNumber(review.total_score, 1) }));
      comment.value = "";
      for (const sel of form.querySelectorAll("select[data-criterion]")) sel.value = sel.dataset.default;
      await loadReviews();
    } catch (err) {
      error.textContent = err instanceof ApiError ? err.message : t("common.error");
      error.hidden = false;
    } finally {
      button.disabled = false;
    }
  });
}

function criterionInput(c) {
  const id = `crit-${c.key}`;
  const options = [h("option", { value: "" }, t("qa.choose"))];
  if (c.auto) options.push(h("option", { value: "auto", selected: true }, t("qa.auto")));
  if (c.max_score === 1) {
    options.push(h("option", { value: "1" }, t("qa.met")), h("option", { value: "0" }, t("qa.not_met")));
  } else {
    for (let s = c.max_score; s >= 0; s--) options.push(h("option", { value: String(s) }, `${s} / ${c.max_score}`));
  }
  if (!c.critical) options.push(h("option", { value: "na" }, t("qa.na")));
  const def = c.auto ? "auto" : "";
  return h("div", { class: "criterion" },
    h("label", { for: id }, c.label, c.critical ? h("span", { class: "crit" }, t("qa.critical")) : null,
      h("span", { class: "muted", style: "font-size:.8rem" }, ` · ${t("qa.weight", { w: fmtNumber(c.weight, 1) })}`)),
    h("select", { id, "data-criterion": c.key, "data-label": c.label, "data-default": def }, ...options));
}

async function loadReviews() {
  const box = $("#history");
  let reviews;
  try {
    reviews = await api(`/calls/${enc}/reviews`);
  } catch (err) { showError(box, err); return; }
  if (!reviews.length) { box.replaceChildren(h("p", { class: "empty" }, t("qa.no_reviews"))); return; }
  box.replaceChildren(...reviews.map(reviewItem));
}

function reviewItem(r) {
  const actions = h("div", { class: "form-row" });
  const isAgent = config.user.role === "agent";
  if (isAgent && r.status === "submitted") {
    const comment = h("textarea", { id: `resp-${r.id}`, placeholder: t("qa.response_hint") });
    actions.append(
      h("div", { class: "field", style: "width:100%" }, h("label", { for: `resp-${r.id}` }, t("qa.your_response")), comment),
      h("button", { class: "btn btn-primary", type: "button", onclick: () => respond(r, "acknowledge", comment.value) }, t("qa.acknowledge")),
      h("button", { class: "btn btn-danger", type: "button", onclick: () => respond(r, "dispute", comment.value) }, t("qa.dispute")),
    );
  }
  if (!isAgent && r.status === "disputed") {
    const comment = h("textarea", { id: `res-${r.id}` });
    actions.append(
      h("div", { class: "field", style: "width:100%" }, h("label", { for: `res-${r.id}` }, t("qa.resolution_comment")), comment),
      h("button", { class: "btn", type: "button", onclick: () => resolve(r, comment.value) }, t("qa.uphold")),
    );
  }
  return h("article", { class: "history-item", "data-review": r.id },
    h("div", { class: "form-row" },
      h("span", { class: `score ${r.failed ? "fail" : ""}` }, fmtNumber(r.total_score, 1)),
      r.failed ? badge(t("qa.failed"), "danger") : badge(t("qa.passed"), "ok"),
      badge(t(`review.${r.status}`), STATUS_KIND[r.status]),
      h("span", { class: "muted" }, `${r.form_name} · ${r.reviewer} · ${fmtDateTime(r.created_at)}`)),
    h("ul", { class: "muted", style: "margin:.3rem 0;padding-left:1.1rem;font-size:.88rem" },
      ...r.scores.map((s) => h("li", {}, `${s.label}: `,
        s.score === null ? t("qa.na") : s.max_score === 1 ? (s.score ? t("qa.met") : t("qa.not_met")) : `${s.score}/${s.max_score}`,
        s.auto ? ` (${t("qa.auto_short")})` : "", s.missed && s.critical ? h("span", { class: "crit", style: "color:var(--danger)" }, ` ${t("qa.critical_missed")}`) : ""))),
    r.comment ? h("p", {}, r.comment) : null,
    r.agent_comment ? h("p", { class: "muted" }, `${t("qa.agent_said")}: ${r.agent_comment}`) : null,
    r.resolution ? h("p", { class: "muted" }, `${t(`qa.resolution.${r.resolution}`)}: ${r.resolution_comment || ""}`) : null,
    actions);
}

async function respond(review, action, comment) {
  if (action === "dispute" && !comment.trim()) { toast(t("qa.dispute_needs_comment"), "error"); return; }
  try {
    await api(`/reviews/${review.id}/${action}`, { method: "POST", body: { comment: comment.trim() || null } });
    toast(t(action === "dispute" ? "qa.disputed" : "qa.acknowledged"));
    await loadReviews();
  } catch (err) { toast(err.message, "error"); }
}

async function resolve(review, comment) {
  if (!comment.trim()) { toast(t("qa.resolution_needs_comment"), "error"); return; }
  try {
    await api(`/reviews/${review.id}/resolve`, { method: "POST", body: { resolution: "upheld", comment: comment.trim() } });
    await loadReviews();
  } catch (err) { toast(err.message, "error"); }
}

main();
