// Browser test: Debian's Chromium, driven headless by playwright-core, stays connected through
// many heartbeat periods, answering the server's pings by itself (RFC 6455 §5.5.2; a page cannot
// see pings), and gets its messages echoed, including multi-byte UTF-8, then closes cleanly. Run directly (`node browser.test.mjs`) with WS_SERVER set; exit code 77
// means skipped.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { launchBrowser, requireE2E, startServer } from '../../e2e/lib/harness.mjs';

requireE2E();

const kScreenshot = fileURLToPath(new URL('output/browser.png', import.meta.url));
const kStepTimeoutMs = 10_000;

test('the browser answers pings, stays connected, gets echoes and closes cleanly',
     { timeout: 60_000 }, async () => {
  const server = await startServer(['--ping-period', '200ms', '--pong-wait', '500ms']);
  let browser;
  let exitCode;
  try {
    browser = await launchBrowser();
    const page = await browser.newPage();
    page.setDefaultTimeout(kStepTimeoutMs);
    await page.goto(server.url);
    await page.click('#open');
    await page.locator('#log li.open').waitFor();
    // Ten ping periods: Chromium answers every ping, so the server logs the round trips.
    await server.waitForLine(/^#\d+ pong 10: round trip /, 5_000);

    const messages = ['hello, echo', 'héllo wörld ✓ 🎉 κόσμε', 'x'.repeat(70_000)];
    for (const [index, text] of messages.entries()) {
      await page.fill('#message', text);
      await page.press('#message', 'Enter');
      const echo = page.locator('#log li.message .text').nth(index);
      await echo.waitFor();
      assert.equal(await echo.textContent(), `message: ${text}`);
    }

    await page.fill('#close-code', '1000');
    await page.click('#close');
    const closed = page.locator('#log li.close').last();
    await closed.waitFor();
    assert.equal(await closed.locator('.text').textContent(),
                 'close: code=1000 reason="" wasClean=true');
    await server.waitForLine(/^#\d+ closed 1000 "bye" \(initiated by client\)$/);
    assert.ok(!server.lines.some((line) => line.includes('heartbeat timeout')),
              'the browser was never taken for dead');

    mkdirSync(fileURLToPath(new URL('output/', import.meta.url)), { recursive: true });
    await page.screenshot({ path: kScreenshot, fullPage: true });
  } finally {
    await browser?.close();
    exitCode = await server.stop();
  }
  assert.equal(exitCode, 0, 'the server exits with 0 on SIGTERM');
});
