// Chart.js (vendored UMD, global `Chart`) with the console's look.
const { Chart } = window;
Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
Chart.defaults.font.size = 12;
Chart.defaults.color = "#4a5565";
Chart.defaults.animation = false;
Chart.defaults.maintainAspectRatio = false;

const charts = new Map();
/** Draw (or redraw) a chart on the canvas with this id. */
export function draw(id, config) {
  charts.get(id)?.destroy();
  const chart = new Chart(document.getElementById(id), config);
  charts.set(id, chart);
  return chart;
}
export const PALETTE = ["#1d4ed8", "#0f766e", "#6d28d9", "#b45309", "#be123c", "#0369a1", "#4d7c0f", "#7c2d12"];
