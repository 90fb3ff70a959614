// Browser test: Debian's Chromium, driven headless by playwright-core, closes from the page with a
// code and a reason and sees a clean CloseEvent (RFC 6455 §7.1.2, §5.5.1); then the server shuts
// down and the page sees 1001. Run directly (`node browser.test.mjs`) with WS_SERVER set; exit
// code 77 means skipped.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { launchBrowser, requireE2E, startServer } from '../../e2e/lib/harness.mjs';

requireE2E();

const kScreenshot = fileURLToPath(new URL('output/browser.png', import.meta.url));
const kStepTimeoutMs = 10_000;

// The text of the last entry in the page's event log with the given CSS class.
async function lastEntry(page, cssClass) {
  const entry = page.locator(`#log li.${cssClass}`).last();
  await entry.waitFor();
  return entry.locator('.text').textContent();
}

test('the page closes cleanly, with its code, and sees the server going away',
     { timeout: 60_000 }, async () => {
  const server = await startServer();
  let browser;
  let exitCode;
  try {
    browser = await launchBrowser();
    const page = await browser.newPage();
    page.setDefaultTimeout(kStepTimeoutMs);
    await page.goto(server.url);

    // 1. The page closes with 1000 "bye": the server echoes 1000 and closes TCP first.
    await page.click('#open');
    await page.locator('#log li.open').waitFor();
    await page.fill('#close-code', '1000');
    await page.fill('#close-reason', 'bye');
    await page.click('#close');
    assert.equal(await lastEntry(page, 'close'), 'close: code=1000 reason="" wasClean=true');
    await server.waitForLine(/^#\d+ closed 1000 "bye" \(initiated by client\)$/);

    // 2. A page may not send 1001: the browser throws before a byte leaves.
    await page.click('#open');
    await page.locator('#log li.open').nth(1).waitFor();
    await page.fill('#close-code', '1001');
    await page.click('#close');
    assert.match(await lastEntry(page, 'error'), /InvalidAccessError/);

    // 3. The server shuts down: every connection gets 1001 and the browser answers it.
    mkdirSync(fileURLToPath(new URL('output/', import.meta.url)), { recursive: true });
    exitCode = await server.stop();
    assert.equal(await lastEntry(page, 'close'),
                 'close: code=1001 reason="server shutting down" wasClean=true');
    await server.waitForLine(/^#\d+ closed 1001 "server shutting down" \(initiated by server; client replied 1001/);
    await page.screenshot({ path: kScreenshot, fullPage: true });
  } finally {
    await browser?.close();
    exitCode ??= await server.stop();
  }
  assert.equal(exitCode, 0, 'the server exits with 0 on SIGTERM');
});
