// Copy the browser builds the console uses into web/static/vendor (committed, so users need no npm).
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "static", "vendor");
const files = {
  "wavesurfer.js/dist/wavesurfer.esm.js": "wavesurfer.esm.js",
  "wavesurfer.js/dist/plugins/regions.esm.js": "wavesurfer-regions.esm.js",
  "wavesurfer.js/dist/plugins/timeline.esm.js": "wavesurfer-timeline.esm.js",
  "chart.js/dist/chart.umd.min.js": "chart.umd.min.js",
  "chartjs-chart-matrix/dist/chartjs-chart-matrix.min.js": "chartjs-chart-matrix.min.js",
};
mkdirSync(out, { recursive: true });
const versions = {};
for (const [src, dest] of Object.entries(files)) {
  copyFileSync(join(here, "node_modules", src), join(out, dest));
  const pkg = src.split("/")[0];
  versions[pkg] = JSON.parse(readFileSync(join(here, "node_modules", pkg, "package.json"))).version;
}
writeFileSync(join(out, "VERSIONS.json"), JSON.stringify(versions, null, 2) + "\n");
console.log("vendored", versions);
