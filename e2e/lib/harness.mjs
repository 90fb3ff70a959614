// Shared harness for every stage's JavaScript tests: start a stage's server, drive Debian's
// Chromium with playwright-core, talk to the server with the npm `ws` client.
// Every wait here has a timeout, and a watchdog ends the whole test process, so a test never hangs.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The e2e package folder (holds package.json and node_modules). */
export const kE2eDir = dirname(dirname(fileURLToPath(import.meta.url)));

/** Debian's Chromium; we never download a browser of our own. */
export const kChromium = '/usr/bin/chromium';

/** Chromium's command line: quiet, and no traffic except to our server on 127.0.0.1. */
const kChromiumArgs = [
  '--no-sandbox', // CI runs as root, where Chromium's sandbox cannot start.
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Exit code that CTest's SKIP_RETURN_CODE turns into "skipped". */
export const kSkipExitCode = 77;

/** How long the whole test process may run before the watchdog ends it (WS_TEST_TIMEOUT_MS). */
const kWatchdogMs = Number(process.env.WS_TEST_TIMEOUT_MS ?? 90_000);

// The npm packages are imported lazily: when they are missing, requireE2E() must still be able to
// run and skip (or fail) with a helpful message instead of an import error.
let wsModule = null;
try {
  wsModule = await import('ws');
} catch {
  // Reported by requireE2E().
}

/** The `ws` package's WebSocket client class (undefined until `./course setup` installed it). */
export const WebSocket = wsModule?.WebSocket;

const watchdog = setTimeout(() => {
  process.stderr.write(`harness: test still running after ${kWatchdogMs} ms; giving up\n`);
  killAllServers();
  process.exit(1);
}, kWatchdogMs);
watchdog.unref(); // Never the reason the process stays alive.

/**
 * Checks that the e2e dependencies are installed: e2e/node_modules (playwright-core, ws) and, when
 * `browser` is true, /usr/bin/chromium. Call it first in every JS test.
 * When something is missing: prints a message and exits 77 (skipped), or, with env
 * WS_REQUIRE_E2E=1 (set by `./course test` and CI), throws so the test fails.
 */
export function requireE2E({ browser = true } = {}) {
  const missing = [];
  for (const pkg of ['ws', 'playwright-core']) {
    if (!existsSync(join(kE2eDir, 'node_modules', pkg, 'package.json'))) {
      missing.push(`e2e/node_modules/${pkg}`);
    }
  }
  if (browser && !existsSync(kChromium)) missing.push(kChromium);
  if (missing.length === 0) return;
  if (process.env.WS_REQUIRE_E2E === '1') {
    throw new Error(`e2e dependencies missing (${missing.join(', ')}); run ./course setup`);
  }
  console.log(`skipped: e2e dependencies missing; run ./course setup (missing: ${missing.join(', ')})`);
  process.exit(kSkipExitCode);
}

/**
 * Rejects with an Error naming `what` when `promise` has not settled after `ms` milliseconds.
 * Returns the promise's value otherwise.
 */
export async function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const runningServers = new Set();

function killAllServers() {
  for (const child of runningServers) child.kill('SIGKILL');
  runningServers.clear();
}

// A server must not outlive its test, however the test ends.
process.on('exit', killAllServers);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => {
    killAllServers();
    process.exit(1);
  });
}

/** Matches the line every stage's server prints once it accepts connections. */
const kListeningLine = /^listening on (http:\/\/(\S+):(\d+))\/?$/;

/**
 * Starts a stage's server as `binary --port 0 ...args` and waits (10 s at most) for its
 * `listening on http://HOST:PORT` line. Every stdout and stderr line is kept in `lines` and copied
 * to this process's stderr with a `[server]` prefix (CTest shows it when a test fails).
 * Resolves to { url, wsUrl, host, port, lines, waitForLine, stop }:
 *   url      'http://HOST:PORT/'   wsUrl 'ws://HOST:PORT/'
 *   waitForLine(regex, timeoutMs = 5000) resolves to the regex's match of the first line (already
 *            printed or yet to come) that matches; rejects on timeout or when the server exits.
 *   stop(signal = 'SIGTERM') sends the signal and resolves to the exit code, or to the signal's
 *            name when the server died of a signal; sends SIGKILL if it has not exited after 5 s.
 * Rejects when the binary cannot be started, exits early, or never prints the line.
 */
export async function startServer(args = [], { binary = process.env.WS_SERVER } = {}) {
  if (!binary) {
    throw new Error('no server binary: set WS_SERVER=/path/to/server (CTest sets it)');
  }
  const child = spawn(binary, ['--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  runningServers.add(child);
  // Only pending waits (with their timers) keep the test process alive, never the server itself.
  child.unref();

  const lines = [];
  const waiters = new Set();
  let exitStatus; // Set once the server has exited and its output is read: a code or signal name.
  let spawnError;
  const exited = new Promise((resolve) => {
    child.on('error', (error) => {
      spawnError = error;
      exitStatus = 'spawn error';
      runningServers.delete(child);
      for (const waiter of waiters) waiter.check();
      resolve(exitStatus);
    });
    child.on('close', (code, signal) => {
      exitStatus = code ?? signal;
      runningServers.delete(child);
      for (const waiter of waiters) waiter.check();
      resolve(exitStatus);
    });
  });

  for (const [stream, name] of [[child.stdout, 'stdout'], [child.stderr, 'stderr']]) {
    stream.unref?.();
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
      process.stderr.write(`[server ${name}] ${line}\n`);
      lines.push(line);
      for (const waiter of waiters) waiter.check();
    });
  }

  function waitForLine(regex, timeoutMs = 5000) {
    return new Promise((resolve, reject) => {
      let next = 0; // Index of the first line this waiter has not looked at.
      const waiter = {
        check() {
          for (; next < lines.length; ++next) {
            const match = lines[next].match(regex);
            if (match) return done(null, match);
          }
          if (exitStatus !== undefined) {
            const why = spawnError ? `could not start ${binary}: ${spawnError.message}`
                                   : `server exited (${exitStatus})`;
            done(new Error(`${why} before printing a line matching ${regex}`));
          }
        },
      };
      const timer = setTimeout(() => {
        const tail = lines.slice(-10).map((l) => `  ${l}`).join('\n');
        done(new Error(`no server line matching ${regex} within ${timeoutMs} ms; last lines:\n${tail}`));
      }, timeoutMs);
      function done(error, match) {
        clearTimeout(timer);
        waiters.delete(waiter);
        if (error) reject(error);
        else resolve(match);
      }
      waiters.add(waiter);
      waiter.check();
    });
  }

  async function stop(signal = 'SIGTERM') {
    if (exitStatus === undefined) {
      child.kill(signal);
      const killer = setTimeout(() => {
        process.stderr.write(`harness: server ignored ${signal} for 5 s; sending SIGKILL\n`);
        child.kill('SIGKILL');
      }, 5000);
      await exited;
      clearTimeout(killer);
    }
    return exitStatus;
  }

  let match;
  try {
    match = await waitForLine(kListeningLine, 10_000);
  } catch (error) {
    await stop('SIGKILL');
    throw error;
  }
  const [, printed, host, port] = match;
  const url = `${printed}/`;
  return {
    url,
    wsUrl: url.replace(/^http:/, 'ws:'),
    host,
    port: Number(port),
    lines,
    waitForLine,
    stop,
  };
}

/**
 * Launches Debian's Chromium, headless, through playwright-core (30 s at most).
 * Resolves to a playwright Browser; close it with `await browser.close()` in a finally block.
 */
export async function launchBrowser() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: kChromium, headless: true, timeout: 30_000,
                           args: kChromiumArgs });
}

/**
 * Launches Chromium with a persistent profile in a fresh temporary user-data-dir, removed again
 * when the returned context is closed. Resolves to a playwright BrowserContext.
 */
export async function launchPersistentBrowser() {
  const { chromium } = await import('playwright-core');
  const userDataDir = mkdtempSync(join(tmpdir(), 'ws-course-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: kChromium,
    headless: true,
    timeout: 30_000,
    args: kChromiumArgs,
  });
  context.on('close', () => rmSync(userDataDir, { recursive: true, force: true }));
  return context;
}

/**
 * Opens a `ws` WebSocket to `url` offering `protocols` (an array, possibly empty) and resolves to
 * it once open (5 s at most). Messages that arrive from then on are queued: read them with
 * `receive(ws)`. Rejects on an error, an unexpected HTTP response or a close before open.
 */
export function connect(url, protocols = [], { timeoutMs = 5000 } = {}) {
  const ws = new WebSocket(url, protocols);
  ws.queued = [];
  ws.receivers = [];
  ws.on('message', (data, isBinary) => {
    const message = { data: isBinary ? data : data.toString('utf8'), isBinary };
    const receiver = ws.receivers.shift();
    if (receiver) receiver(message);
    else ws.queued.push(message);
  });
  const opened = new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_, response) => {
      reject(new Error(`server answered the upgrade with HTTP ${response.statusCode}`));
    });
    ws.once('close', (code) => reject(new Error(`closed (${code}) before open`)));
  });
  return withTimeout(opened, timeoutMs, `opening ${url}`).catch((error) => {
    ws.terminate();
    throw error;
  });
}

/**
 * Resolves to the next message a socket opened by `connect` received, as { data, isBinary }
 * (data is a string for text messages, a Buffer for binary ones). Rejects after `timeoutMs`.
 */
export function receive(ws, timeoutMs = 5000) {
  if (ws.queued.length > 0) return Promise.resolve(ws.queued.shift());
  let receiver;
  const next = new Promise((resolve) => {
    receiver = resolve;
    ws.receivers.push(resolve);
  });
  return withTimeout(next, timeoutMs, 'waiting for a WebSocket message').catch((error) => {
    ws.receivers.splice(ws.receivers.indexOf(receiver), 1);
    throw error;
  });
}
