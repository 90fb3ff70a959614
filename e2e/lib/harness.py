"""Shared harness for every stage's Python interop tests (standard library only).

Starts a stage's server and waits for its `listening on http://HOST:PORT` line, and decides what
happens when Debian's python3-websockets is missing: skip (exit 77) or, under WS_REQUIRE_E2E=1,
fail. Every wait has a timeout and a watchdog ends the process, so a test never hangs.
Run the tests with Debian's /usr/bin/python3: that is where python3-websockets is installed.
"""

import atexit
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

SKIP_EXIT_CODE = 77
"""Exit code that CTest's SKIP_RETURN_CODE turns into "skipped"."""

_LISTENING_LINE = re.compile(r"^listening on (http://(\S+):(\d+))/?$")
_running = set()


def _kill_all():
    for process in list(_running):
        if process.poll() is None:
            process.kill()
    _running.clear()


atexit.register(_kill_all)


def require_program(name, reason):
    """The path of the program `name` (on the PATH, or in /usr/sbin or /usr/bin, where Debian
    puts servers such as nginx and redis-server).

    When it is missing: prints `reason` and exits 77 (skipped), or, with env WS_REQUIRE_E2E=1,
    raises RuntimeError so the test fails.
    """
    for path in (shutil.which(name), f"/usr/sbin/{name}", f"/usr/bin/{name}"):
        if path and os.access(path, os.X_OK):
            return path
    message = f"{name} is missing ({reason}); run ./course setup"
    if os.environ.get("WS_REQUIRE_E2E") == "1":
        raise RuntimeError(message)
    print(f"skipped: {message}", flush=True)
    sys.exit(SKIP_EXIT_CODE)


def require_websockets():
    """Imports and returns the `websockets` module.

    When it is missing: prints a message and exits 77 (skipped), or, with env WS_REQUIRE_E2E=1
    (set by `./course test` and CI), raises RuntimeError so the test fails.
    """
    try:
        import websockets  # pylint: disable=import-outside-toplevel
    except ImportError as error:
        message = (f"e2e dependencies missing (python3-websockets for {sys.executable}: {error}); "
                   "run ./course setup")
        if os.environ.get("WS_REQUIRE_E2E") == "1":
            raise RuntimeError(message) from error
        print("skipped: e2e dependencies missing; run ./course setup", flush=True)
        sys.exit(SKIP_EXIT_CODE)
    return websockets


def start_watchdog(seconds=None):
    """Ends the process with exit code 1 (after killing the servers) once `seconds` have passed.

    The default is env WS_TEST_TIMEOUT_MS (milliseconds) or 90 s.
    """
    if seconds is None:
        seconds = int(os.environ.get("WS_TEST_TIMEOUT_MS", "90000")) / 1000

    def expire():
        print(f"harness: test still running after {seconds} s; giving up",
              file=sys.stderr, flush=True)
        _kill_all()
        os._exit(1)  # pylint: disable=protected-access

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    return timer


class ServerProcess:
    """A running stage server. Attributes: url ('http://HOST:PORT/'), ws_url ('ws://HOST:PORT/'),
    host, port, lines (every stdout and stderr line so far)."""

    def __init__(self, binary, args):
        self.lines = []
        self.url = self.ws_url = self.host = None
        self.port = 0
        self._changed = threading.Condition()
        self._binary = binary
        self._process = subprocess.Popen(  # pylint: disable=consider-using-with
            [binary, "--port", "0", *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, encoding="utf-8", errors="replace", bufsize=1)
        _running.add(self._process)
        self._readers = [
            threading.Thread(target=self._read, args=(stream, name), daemon=True)
            for stream, name in ((self._process.stdout, "stdout"), (self._process.stderr, "stderr"))
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream, name):
        for line in stream:
            line = line.rstrip("\r\n")
            print(f"[server {name}] {line}", file=sys.stderr, flush=True)
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def _output_done(self):
        return self._process.poll() is not None and not any(r.is_alive() for r in self._readers)

    def wait_for_line(self, regex, timeout=5.0):
        """Returns the re.Match of the first line (already printed or yet to come) matching regex.

        Raises TimeoutError after `timeout` seconds, RuntimeError when the server exits first.
        """
        pattern = re.compile(regex)
        deadline = time.monotonic() + timeout
        index = 0
        with self._changed:
            while True:
                for index in range(index, len(self.lines)):
                    match = pattern.search(self.lines[index])
                    if match:
                        return match
                index = len(self.lines)
                if self._output_done():
                    raise RuntimeError(f"server exited ({self._process.returncode}) before "
                                       f"printing a line matching {regex!r}")
                left = deadline - time.monotonic()
                if left <= 0:
                    tail = "\n".join(f"  {line}" for line in self.lines[-10:])
                    raise TimeoutError(f"no server line matching {regex!r} within {timeout} s; "
                                       f"last lines:\n{tail}")
                # Short waits so an exit is noticed even though it notifies nobody.
                self._changed.wait(min(left, 0.1))

    def stop(self, sig=signal.SIGTERM):
        """Sends `sig` and returns the exit code (negative signal number when killed by one).

        Sends SIGKILL if the server has not exited after 5 s.
        """
        if self._process.poll() is None:
            self._process.send_signal(sig)
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                print(f"harness: server ignored {sig} for 5 s; sending SIGKILL",
                      file=sys.stderr, flush=True)
                self._process.kill()
                self._process.wait(timeout=5)
        for reader in self._readers:
            reader.join(timeout=2)
        for stream in (self._process.stdout, self._process.stderr):
            if stream is not None:
                stream.close()
        _running.discard(self._process)
        return self._process.returncode


def start_server(binary=None, args=()):
    """Starts `binary --port 0 *args` (binary defaults to env WS_SERVER) and waits at most 10 s
    for its `listening on http://HOST:PORT` line.

    Returns a ServerProcess; raises RuntimeError/TimeoutError (after killing it) otherwise.
    """
    binary = binary or os.environ.get("WS_SERVER")
    if not binary:
        raise RuntimeError("no server binary: set WS_SERVER=/path/to/server (CTest sets it)")
    server = ServerProcess(binary, list(args))
    try:
        match = server.wait_for_line(_LISTENING_LINE, timeout=10)
    except BaseException:
        server.stop(signal.SIGKILL)
        raise
    printed, server.host, port = match.groups()
    server.port = int(port)
    server.url = printed + "/"
    server.ws_url = "ws://" + server.url[len("http://"):]
    return server
