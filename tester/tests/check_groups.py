#!/usr/bin/env python3
"""Runs the tester against a server and checks which of its groups passed and which failed.

Three uses, all as ctest tests:
  - stage N-1's server must fail the groups stage N adds (and pass the ones they share), which
    proves each stage's check tests that stage's concept;
  - a deliberately naive server must fail the groups whose rules it skips;
  - a well-known server must pass a group except for its known defects (--known-failures), so
    that the tester's cases are calibrated against an implementation they share nothing with.
"""
import argparse
import importlib.util
import os
import re
import subprocess
import sys


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tester", required=True)
    parser.add_argument("--stage", required=True)
    parser.add_argument("--server", required=True)
    parser.add_argument("--fail", default="", help="groups in which some case must fail")
    parser.add_argument("--pass", dest="passing", default="", help="groups that must all pass")
    parser.add_argument("--known-failures", default="",
                        help="cases (as the tester names them: compression.3) that must fail; "
                             "the rest of their group must pass")
    parser.add_argument("--peer-module", default="",
                        help="a Python module the server needs; missing, the check is skipped "
                             "(exit 77) unless WS_REQUIRE_E2E=1")
    parser.add_argument("tester_args", nargs="*")
    args = parser.parse_args()
    if args.peer_module and importlib.util.find_spec(args.peer_module) is None:
        print(f"check_groups: python module {args.peer_module} missing (./course setup)")
        return 1 if os.environ.get("WS_REQUIRE_E2E") == "1" else 77

    run = subprocess.run(
        [args.tester, "--stage", args.stage, "--server", args.server, *args.tester_args],
        capture_output=True, text=True, timeout=600, check=False)
    print(run.stdout[-6000:])
    # The tester's per-group lines: "  pings: 3/11 passed".
    groups = {m[1]: (int(m[2]), int(m[3]))
              for m in re.finditer(r"^  (\w+): (\d+)/(\d+) passed$", run.stdout, re.M)}
    # The tester's failure lines: "FAIL compression.3  answers ...", "NON-STRICT pings 2.5  ...".
    failed = set(re.findall(r"^(?:FAIL|NON-STRICT) (.+?)  ", run.stdout, re.M))
    known = [case for case in args.known_failures.split(",") if case]
    problems = [f"case {case} passed; it is listed as a known failure"
                for case in known if case not in failed]
    if run.returncode not in (0, 1):
        problems.append(f"the tester could not run (exit {run.returncode}): {run.stderr.strip()}")
    for group in filter(None, args.fail.split(",")):
        if group not in groups:
            problems.append(f"group {group} did not run")
        elif groups[group][0] == groups[group][1]:
            problems.append(f"group {group} passed ({groups[group][0]}/{groups[group][1]}); "
                            "this server should fail it")
    for group in filter(None, args.passing.split(",")):
        if group not in groups:
            problems.append(f"group {group} did not run")
        elif groups[group][0] != groups[group][1] - sum(
                case.startswith(group + ".") or case.startswith(group + " ") for case in known):
            problems.append(f"group {group}: only {groups[group][0]}/{groups[group][1]} passed")
    for problem in problems:
        print("check_groups:", problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
