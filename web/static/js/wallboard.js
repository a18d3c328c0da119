// The wallboard: GET /api/v1/live once, then server-sent events from /api/v1/live/stream.
import { $, api, config, fmtClock, fmtNumber, fmtPercent, h, t } from "./lib.js";

const STATES = new Set(["free", "ringing", "talking", "busy", "paused", "offline", "unavailable"]);
let lastAt = 0;

function setTile(id, value, kind = "") {
  const tile = $(`#${id}`);
  tile.querySelector(".value").textContent = value;
  tile.classList.remove("good", "bad", "warn");
  if (kind) tile.classList.add(kind);
}

function status(live, text) {
  const el = $("#wb-status");
  el.classList.toggle("live", live);
  el.querySelector("span:last-child").textContent = text;
}

function render(snap) {
  lastAt = Date.now();
  const waiting = snap.waiting || [];
  setTile("tile-waiting", fmtNumber(waiting.length), waiting.length > 3 ? "bad" : waiting.length ? "warn" : "good");
  setTile("tile-longest", fmtClock(snap.longest_wait_s), snap.longest_wait_s > config_target_s() ? "bad" : "");
  const rate = snap.today?.within_target_rate ?? null;
  setTile("tile-rate", fmtPercent(rate, 0), rate === null ? "" : rate >= 0.8 ? "good" : "bad");
  setTile("tile-answered", `${fmtNumber(snap.today?.answered ?? 0)} / ${fmtNumber(snap.today?.offered ?? 0)}`);
  $("#wb-waiting").replaceChildren(...(waiting.length ? waiting.sort((a, b) => b.wait_s - a.wait_s).map((w) =>
    h("li", {}, h("span", {}, w.queue || "–"), h("span", {}, fmtClock(w.wait_s)))) : [h("li", {}, t("wb.no_waiting"))]));
  const agents = snap.agents || [];
  $("#wb-agents").replaceChildren(...(agents.length ? agents.map((a) => {
    const state = STATES.has(a.state) ? a.state : "unavailable";
    return h("li", {}, h("span", {}, a.name), h("span", { class: `wb-state ${state}` }, t(`state.${state}`), a.since_s !== null ? ` ${fmtClock(a.since_s)}` : ""));
  }) : [h("li", {}, t("wb.no_agents"))]));
  const c = snap.agent_counts || {};
  $("#wb-counts").textContent = t("wb.counts", { free: fmtNumber(c.free || 0), ringing: fmtNumber(c.ringing || 0), talking: fmtNumber(c.talking || 0) });
  status(!snap.stale, snap.stale ? t("wb.stale") : t("wb.live"));
}

const config_target_s = () => config.target_rings * config.ring_cycle_s;

async function start() {
  try {
    render(await api("/live"));
  } catch {
    status(false, t("wb.stale"));
  }
  const source = new EventSource("/api/v1/live/stream");
  source.addEventListener("snapshot", (e) => render(JSON.parse(e.data)));
  source.onerror = () => status(false, t("wb.connecting"));
  setInterval(() => { if (Date.now() - lastAt > 10000) status(false, t("wb.stale")); }, 5000);
}
start();
