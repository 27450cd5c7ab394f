// Opens an HTML report in a real headless browser (Debian's chromium through puppeteer-core),
// takes a screenshot, and prints what a reader would see as JSON: script errors, requests the
// page made besides itself, and the visible size of the report's tables and charts.
//
//   node html_report_check.mjs PEERS_DIR REPORT.html SCREENSHOT.png
import { createRequire } from "node:module";

const [peers, page_path, screenshot] = process.argv.slice(2);
const require = createRequire(peers + "/node_modules/");
const puppeteer = require("puppeteer-core");

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
const result = { errors: [], requests: [], elements: {} };
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  page.on("pageerror", (e) => result.errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") result.errors.push(m.text()); });
  page.on("request", (r) => { if (!r.url().startsWith("file://")) result.requests.push(r.url()); });
  await page.goto("file://" + page_path, { waitUntil: "load" });
  result.title = await page.title();
  result.elements = await page.evaluate(() => {
    const box = (el) => { const r = el.getBoundingClientRect(); return [Math.round(r.width), Math.round(r.height)]; };
    const visible = (el) => { const s = getComputedStyle(el); const [w, h] = box(el); return s.display !== "none" && s.visibility !== "hidden" && w > 0 && h > 0; };
    const out = {};
    for (const id of ["verdict", "rates", "rate-chart", "provider-chart", "matrix", "failures"]) {
      const el = document.getElementById(id);
      out[id] = el ? { visible: visible(el), size: box(el) } : null;
    }
    out.rate_rows = document.querySelectorAll("#rates tbody tr").length;
    out.visible_bars = [...document.querySelectorAll("#rate-chart rect.bar")].filter(visible).length;
    out.provider_bars = [...document.querySelectorAll("#provider-chart rect.bar")].filter(visible).length;
    out.diff_rows = document.querySelectorAll("table.diff tbody tr").length;
    out.verdict_text = document.getElementById("verdict")?.textContent;
    return out;
  });
  await page.screenshot({ path: screenshot, fullPage: true });
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
