// The web's journeys in Debian's headless Chromium, driven by playwright-core: a customer shops,
// signs in, checks out and chats with the Concierge; an agent finds that customer and has the
// Concierge investigate the order; a shopper without JavaScript checks out with plain forms.
// Saves a screenshot of every page it reaches and prints one JSON line: {"passed": [...]}.
// Usage: node journeys.cjs <web base URL> <screenshot folder>   (BROWSER_MODULES: scripts/browser's output)
const path = require('node:path');
const { chromium } = require(path.join(process.env.BROWSER_MODULES, 'playwright-core'));

const [base, shots] = process.argv.slice(2);
const passed = [];
let shot = 0;

function check(ok, what) {
  if (!ok) throw new Error(`failed: ${what}`);
  passed.push(what);
}

async function snap(page, name) {
  shot += 1;
  await page.screenshot({ path: path.join(shots, `${String(shot).padStart(2, '0')}-${name}.png`), fullPage: true });
}

// A tab that records console errors and failed requests, which fail the journey at its end.
async function tab(browser, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
  const page = await context.newPage();
  page.errors = [];
  page.on('console', (message) => { if (message.type() === 'error') page.errors.push(message.text()); });
  page.on('pageerror', (error) => page.errors.push(String(error)));
  page.on('response', (response) => { if (response.status() >= 500) page.errors.push(`${response.status()} ${response.url()}`); });
  return page;
}

// Hydrated: the currency picker's island hides its "Set" button once its wasm runs.
async function hydrated(page) {
  await page.waitForSelector('form.currency button.hidden', { state: 'attached', timeout: 30000 });
}

async function signIn(page, email) {
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', 'boutique-demo');
  await page.click('form[action="/signin"] button[type=submit]');
}

// Sends `text` in the chat widget with the keyboard and waits for the streamed answer; returns
// the answer and every status the widget showed meanwhile.
async function chat(page, text) {
  const summary = page.locator('details.chat summary');
  if (!(await page.locator('details.chat[open]').count())) await summary.click();
  // Every text the status showed, even one replaced within the same task: the records keep the
  // old values and the removed and added text nodes.
  await page.evaluate(() => {
    window.__statuses = [];
    const seen = (text) => { if (text) window.__statuses.push(text); };
    new MutationObserver((records) => {
      for (const record of records) {
        seen(record.oldValue);
        for (const node of [...record.removedNodes, ...record.addedNodes]) seen(node.textContent);
      }
      seen(document.querySelector('.chat-status').textContent);
    }).observe(document.querySelector('.chat-status'),
      { childList: true, subtree: true, characterData: true, characterDataOldValue: true });
  });
  const answers = await page.locator('.msg.concierge').count();
  await page.fill('#chat-text', text);
  await page.press('#chat-text', 'Enter');
  await page.waitForFunction((before) => {
    const replies = document.querySelectorAll('.msg.concierge .text');
    const status = document.querySelector('.chat-status').textContent;
    return replies.length > before && replies[replies.length - 1].textContent.trim().length > 0 && status === '';
  }, answers, { timeout: 120000 });
  const answer = await page.locator('.msg.concierge .text').last().textContent();
  return { answer, statuses: await page.evaluate(() => window.__statuses) };
}

async function customerJourney(browser) {
  const page = await tab(browser);
  await page.goto(base + '/');
  await hydrated(page);
  check((await page.locator('.grid .card').count()) > 10, 'home shows the product grid');
  await snap(page, 'home');

  await page.selectOption('#currency_code', 'EUR');
  await page.waitForFunction(() => document.querySelector('.card .price')?.textContent.startsWith('€'));
  check(true, 'picking a currency reprices the page (the hydrated picker submits itself)');

  await page.click('a[href="/product/linen-three-seat-sofa"]');
  await page.waitForSelector('h1');
  await snap(page, 'product');
  await page.selectOption('#quantity', '2');
  await page.click('.add-to-cart button');
  await page.waitForURL('**/cart');
  check((await page.locator('.cart-lines li').count()) === 1, 'the product is in the cart');
  await snap(page, 'cart');

  await page.click('a[href^="/signin"]');
  await signIn(page, 'daniel.weber@example.de');
  await page.waitForURL('**/cart');
  check((await page.locator('.cart-lines li').count()) === 1, 'signing in keeps the cart');
  check(await page.inputValue('input[name=email]') === 'daniel.weber@example.de', 'the form is filled from the CRM');
  await page.click('form.checkout button[type=submit]');
  await page.waitForSelector('#order-id');
  const order = (await page.textContent('#order-id')).trim();
  check(order.startsWith('ord'), `the confirmation shows the order ${order}`);
  await snap(page, 'confirmation');

  await page.click(`a[href="/account/orders/${order}"]`);
  await page.waitForSelector('.timeline, .panel');
  await hydrated(page);
  check((await page.textContent('h1')).includes(order), 'the order page tracks it');
  await snap(page, 'order-tracking');

  const { answer, statuses } = await chat(page, `Where is my order ${order}?`);
  check(answer.length > 20, `the Concierge answers: ${answer.slice(0, 80)}…`);
  check(statuses.includes('Checking back-office data…'), 'the widget says when it checks back-office data');
  check(await page.getAttribute('.chat-log', 'role') === 'log' && await page.getAttribute('.chat-log', 'aria-live') === 'polite',
    'the transcript is announced to screen readers');
  await snap(page, 'chat');
  check(page.errors.length === 0, `no console errors (${page.errors.join(' | ')})`);
  await page.context().close();
  return order;
}

async function agentJourney(browser, order) {
  const page = await tab(browser);
  await page.goto(base + '/signin');
  await signIn(page, 'ana@boutique.example');
  await page.waitForURL('**/crm');
  await page.fill('#q', 'Weber');
  await page.press('#q', 'Enter');
  await page.waitForSelector('.hits a');
  check((await page.textContent('.hits')).includes('d***@example.de'), 'the agent sees the email masked');
  await snap(page, 'crm-search');
  await page.click('.hits a[href="/crm/customers/cus-1002"]');
  await page.waitForSelector('table.table');
  check((await page.textContent('h1')).includes('Daniel Weber'), 'the customer 360 page opens');
  await snap(page, 'crm-customer');
  await page.click(`a[href="/crm/customers/cus-1002/orders/${order}"]`);
  await page.waitForSelector('text=Fraud check');
  await snap(page, 'crm-order');
  await page.click('text=Investigate this order with the Concierge');
  await hydrated(page);
  check((await page.inputValue('#chat-text')).startsWith(`Investigate order ${order}`), 'the Concierge panel opens with the order');
  const { answer } = await chat(page, await page.inputValue('#chat-text'));
  check(answer.length > 20, `the Concierge investigates for the agent: ${answer.slice(0, 80)}…`);
  await snap(page, 'crm-investigation');
  check(page.errors.length === 0, `no console errors for the agent (${page.errors.join(' | ')})`);
  await page.context().close();
}

async function noScriptJourney(browser) {
  const page = await tab(browser, { javaScriptEnabled: false });
  await page.goto(base + '/product/velvet-cushion');
  await page.click('.add-to-cart button');
  await page.waitForURL('**/cart');
  await page.click('form.checkout button[type=submit]');
  await page.waitForSelector('#order-id');
  check(true, 'without JavaScript, the forms still add to the cart and check out');
  await snap(page, 'no-javascript-confirmation');
  await page.context().close();
}

async function main() {
  // Without the background-networking flags Chromium keeps calling Google's hosts, which this
  // kind of machine refuses.
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const order = await customerJourney(browser);
    await agentJourney(browser, order);
    await noScriptJourney(browser);
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify({ passed }));
}

main().catch((error) => { console.error(String(error.stack || error), '\npassed so far:', passed); process.exit(1); });
