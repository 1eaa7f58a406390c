// Renders an HTML file in Debian's headless Chromium with playwright-core, takes a full-page
// screenshot, and prints what rendered as JSON: the title, the SVG bars, the table rows and any
// console or page errors.
// Usage: node render.cjs <page.html> <screenshot.png>   (BROWSER_MODULES: scripts/browser's output)
const path = require('node:path');
const { chromium } = require(path.join(process.env.BROWSER_MODULES, 'playwright-core'));

async function main() {
  const [page, screenshot] = process.argv.slice(2);
  // Without the background-networking flags Chromium keeps calling Google's hosts, which this
  // kind of machine refuses.
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const tab = await browser.newPage({ viewport: { width: 1024, height: 800 } });
    const errors = [];
    tab.on('console', (message) => { if (message.type() === 'error') errors.push(message.text()); });
    tab.on('pageerror', (error) => errors.push(String(error)));
    await tab.goto('file://' + path.resolve(page));
    const rendered = {
      title: await tab.title(),
      bars: await tab.locator('svg rect').count(),
      rows: await tab.locator('tbody tr').count(),
      errors,
    };
    await tab.screenshot({ path: screenshot, fullPage: true });
    console.log(JSON.stringify(rendered));
  } finally {
    await browser.close();
  }
}

main().catch((error) => { console.error(error); process.exit(1); });
