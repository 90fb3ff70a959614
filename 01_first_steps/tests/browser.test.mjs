// Browser test: Debian's Chromium, driven headless by playwright-core, loads the test page the
// server serves at GET /, opens a WebSocket with the browser's own client (RFC 6455 §4.1), receives
// the greetings and sends text the server must print. Run directly (`node browser.test.mjs`, not
// `node --test`) with WS_SERVER=/path/to/server, so that exit code 77 can mean "skipped".

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { launchBrowser, requireE2E, startServer } from '../../e2e/lib/harness.mjs';

requireE2E();

const kScreenshot = fileURLToPath(new URL('output/browser.png', import.meta.url));
const kStepTimeoutMs = 10_000;

test('an unknown path answers 404', { timeout: 20_000 }, async () => {
  const server = await startServer();
  let exitCode;
  try {
    const response = await fetch(new URL('/nope', server.url),
                                 { signal: AbortSignal.timeout(kStepTimeoutMs) });
    assert.equal(response.status, 404);
    await response.arrayBuffer(); // Read the body so the connection is released.
  } finally {
    exitCode = await server.stop();
  }
  assert.equal(exitCode, 0, 'the server exits with 0 on SIGTERM');
});

test('the page opens a WebSocket, shows the greetings and sends text', { timeout: 60_000 },
     async () => {
  const server = await startServer();
  let browser;
  let exitCode;
  try {
    browser = await launchBrowser();
    const page = await browser.newPage();
    page.setDefaultTimeout(kStepTimeoutMs);
    page.on('console', (message) => console.error(`[page console] ${message.text()}`));
    const response = await page.goto(server.url);
    assert.equal(response.status(), 200, 'GET / serves the test page');
    assert.equal(await page.inputValue('#url'), server.wsUrl,
                 'the URL field defaults to ws:// + the page\'s host');

    const entries = page.locator('#log li .text');
    await page.click('#open');
    await page.locator('#log li.open').waitFor();
    // The server greets every client with exactly three text messages, "Welcome..." first.
    await page.waitForFunction(
        () => document.querySelectorAll('#log li.message').length >= 3);
    const greetings = await page.locator('#log li.message .text').allTextContents();
    assert.equal(greetings.length, 3, `three greetings, got: ${JSON.stringify(greetings)}`);
    assert.match(greetings[0], /^message: Welcome/);
    assert.equal(await page.isEnabled('#send'), true, 'Send is enabled once open');
    assert.equal(await page.isEnabled('#open'), false, 'Open is disabled while open');

    const clicked = `hello from chromium ${process.pid}`;
    await page.fill('#message', clicked);
    await page.click('#send');
    await server.waitForLine(new RegExp(`^#\\d+ received text: ${clicked}$`), kStepTimeoutMs);

    // Enter in the message field sends too.
    const entered = 'sent with the Enter key';
    await page.fill('#message', entered);
    await page.press('#message', 'Enter');
    await server.waitForLine(new RegExp(`^#\\d+ received text: ${entered}$`), kStepTimeoutMs);
    assert.deepEqual((await entries.allTextContents()).filter((t) => t.startsWith('sent: ')),
                     [`sent: ${clicked}`, `sent: ${entered}`]);

    mkdirSync(fileURLToPath(new URL('output/', import.meta.url)), { recursive: true });
    await page.screenshot({ path: kScreenshot, fullPage: true });
    console.error(`screenshot: ${kScreenshot}`);
  } finally {
    await browser?.close();
    exitCode = await server.stop();
  }
  assert.equal(exitCode, 0, 'the server exits with 0 on SIGTERM');
});
