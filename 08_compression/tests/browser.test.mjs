// Browser test: two users, each in a browser context of their own (Debian's Chromium driven
// headless by playwright-core), log in over HTTP, connect with their one-time passwords and chat.
// A message reaches every member of the sender's room and nobody else, the room selector moves a
// user (with the new room's history), and a wrong password is reported. Chromium offers
// permessage-deflate and the server's answer is checked as Chromium received it, so the whole
// chat runs compressed. Run directly (`node browser.test.mjs`) with WS_SERVER set; exit code 77
// means skipped.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { launchBrowser, requireE2E, startServer } from '../../e2e/lib/harness.mjs';

requireE2E();

const kScreenshot = fileURLToPath(new URL('output/chat.png', import.meta.url));
const kStepTimeoutMs = 10_000;
// How long a message that must NOT arrive is given to arrive anyway, after one that was sent
// later to the same server has already come back: the server delivers in order per connection,
// so this only covers a second connection's delivery lagging behind.
const kGraceMs = 500;

const kHello = 'Hi Bob! Every line on this page crossed a WebSocket as a JSON event.';
const kReply = 'Hi Alice. <b>Tags</b> stay plain text here: the page never parses messages as HTML.';
const kOnlyGeneral = 'Anyone still in #general? Bob went to #random.';
const kOnlyRandom = 'Quiet in #random: only I should see this.';

/** A fresh, independent browser context (its own cookies and storage) with the chat open. */
async function openChat(browser, url) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 640 } });
  const page = await context.newPage();
  page.setDefaultTimeout(kStepTimeoutMs);
  await page.goto(url);
  return page;
}

/**
 * Records the WebSocket handshakes of `page` as Chromium sends and receives them (through the
 * DevTools protocol): a list of { request, response } header objects, filled in as they happen.
 */
async function recordHandshakes(page) {
  const handshakes = [];
  const devtools = await page.context().newCDPSession(page);
  await devtools.send('Network.enable');
  devtools.on('Network.webSocketWillSendHandshakeRequest',
              ({ requestId, request }) => handshakes.push({ requestId, request: request.headers }));
  devtools.on('Network.webSocketHandshakeResponseReceived', ({ requestId, response }) => {
    const handshake = handshakes.find((entry) => entry.requestId === requestId);
    if (handshake) handshake.response = response.headers;
  });
  return handshakes;
}

/** A header's value from a DevTools headers object, whatever the case of its name. */
function header(headers, name) {
  const key = Object.keys(headers ?? {}).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : headers[key];
}

/** Fills in the login form and submits it. */
async function logIn(page, username, password) {
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click('#login');
}

/** Waits until the page's WebSocket is open and it has landed in `room`. */
async function waitInRoom(page, room) {
  await page.locator('#status[data-state="open"]').waitFor();
  assert.equal(await page.textContent('#status'), 'connected');
  await page.locator('#current-room', { hasText: new RegExp(`^${room}$`) }).waitFor();
}

/** The li of the message whose text contains `text`. */
function messageItem(page, text) {
  return page.locator('#messages li.message', {
    has: page.locator('.text', { hasText: text }),
  });
}

/** Types `text`, sends it with Enter and waits for the server's copy of it to come back. */
async function say(page, text) {
  await page.fill('#message', text);
  await page.press('#message', 'Enter');
  await messageItem(page, text).waitFor();
}

/** Checks a message's parts: the sender, a local time, the text exactly as sent. */
async function assertMessage(page, text, from) {
  const item = messageItem(page, text);
  await item.waitFor();
  assert.equal(await item.locator('.from').textContent(), from);
  assert.equal(await item.locator('.text').textContent(), text);
  assert.match(await item.locator('.time').textContent(), /\d{1,2}:\d{2}/);
}

/** The members shown for the current room. */
async function memberNames(page) {
  return page.locator('#members li .name').allTextContents();
}

test('two users chat in a room, switch rooms, and a wrong password is refused',
     { timeout: 60_000 }, async () => {
  const server = await startServer();
  let browser;
  let exitCode;
  try {
    browser = await launchBrowser();
    const alice = await openChat(browser, server.url);
    const bob = await openChat(browser, server.url);
    const handshakes = await recordHandshakes(alice);

    // A wrong password: the 401's error is shown, and the login form stays.
    await logIn(alice, 'alice', 'not-the-password');
    await alice.locator('#notice', { hasText: 'invalid username or password' }).waitFor();
    assert.ok(await alice.isVisible('#login-view'), 'still on the login form');
    assert.ok(await alice.isHidden('#chat-view'), 'no chat without a login');

    // Both log in and land in `general`, each seeing the other among the members.
    await logIn(alice, 'alice', 'wonderland');
    await waitInRoom(alice, 'general');
    // Chromium offered permessage-deflate (RFC 7692 §5) and received the server's agreement:
    // every frame of this chat, both ways, may now be compressed.
    assert.equal(handshakes.length, 1);
    assert.match(header(handshakes[0].request, 'Sec-WebSocket-Extensions'), /^permessage-deflate\b/);
    assert.equal(header(handshakes[0].response, 'Sec-WebSocket-Extensions'),
                 'permessage-deflate; server_no_context_takeover; client_no_context_takeover');
    await server.waitForLine(/ upgraded as alice with permessage-deflate; /);
    assert.equal(await alice.textContent('#notice'), '', 'the login error is cleared');
    await logIn(bob, 'bob', 'builder');
    await waitInRoom(bob, 'general');
    await alice.locator('#members li', { hasText: 'bob' }).waitFor();
    assert.deepEqual(await memberNames(bob), ['alice', 'bob']);
    assert.deepEqual(await memberNames(alice), ['alice', 'bob']);
    await alice.locator('#messages li.presence', { hasText: 'bob joined' }).waitFor();

    // Alice speaks, Bob hears it from alice; Bob answers, Alice hears it from bob.
    await say(alice, kHello);
    await assertMessage(bob, kHello, 'alice');
    assert.ok(await messageItem(alice, kHello).evaluate((li) => li.classList.contains('own')),
              'her own message is marked as hers');
    await say(bob, kReply);
    await assertMessage(alice, kReply, 'bob');
    assert.equal(await alice.locator('#messages b').count(), 0, 'message text is never HTML');

    // Bob moves to `random`: an empty history, and Alice sees him leave.
    await bob.fill('#room', 'random');
    await bob.click('#join');
    await waitInRoom(bob, 'random');
    assert.equal(await bob.locator('#messages li').count(), 0, 'random has no history yet');
    assert.deepEqual(await memberNames(bob), ['bob']);
    await alice.locator('#messages li.presence', { hasText: 'bob left' }).waitFor();
    assert.deepEqual(await memberNames(alice), ['alice']);

    // A message in `general` no longer reaches Bob, and one in `random` reaches only him.
    await say(alice, kOnlyGeneral);
    await say(bob, kOnlyRandom);
    await sleep(kGraceMs);
    assert.equal(await messageItem(bob, kOnlyGeneral).count(), 0, 'bob left general');
    assert.equal(await messageItem(alice, kOnlyRandom).count(), 0, 'alice is not in random');
    assert.deepEqual(await bob.locator('#messages li.message .text').allTextContents(),
                     [kOnlyRandom]);

    // Both rooms are listed on Alice's page, with their members.
    await alice.locator('#rooms li', { hasText: 'random' }).waitFor();
    assert.deepEqual(await alice.locator('#rooms li .name').allTextContents(),
                     ['general', 'random']);

    mkdirSync(fileURLToPath(new URL('output/', import.meta.url)), { recursive: true });
    await alice.locator('#message').blur(); // No focus ring in the README's picture.
    await alice.screenshot({ path: kScreenshot });

    // Log out: back to the login form, and no reconnection.
    await bob.click('#logout');
    await bob.locator('#login-view').waitFor();
    assert.equal(await bob.getAttribute('#status', 'data-state'), 'closed');
  } finally {
    await browser?.close();
    exitCode = await server.stop();
  }
  assert.equal(exitCode, 0, 'the server exits with 0 on SIGTERM');
});
