#!/usr/bin/env python3
"""Prints the .cpp files given as arguments, leaving out each one whose text, and the text of every
header it includes from the stages' own directories (transitively), is the same as a file already
printed.

Stage N is a copy of stage N-1 plus one concept, so most files of a later stage are identical
copies of an earlier stage's; a check that reads only the code (clang-tidy) needs to see each
distinct file once. Usage: tools/distinct_sources.py FILE.cpp... > files-to-check
"""
import hashlib
import pathlib
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.MULTILINE)


def local_includes(path: pathlib.Path, text: str) -> list[pathlib.Path]:
    """The quoted includes that resolve beside the file or in its stage's src/ directory."""
    stage = path.parent.parent
    found = []
    for name in INCLUDE.findall(text):
        for directory in (path.parent, stage / "src"):
            candidate = directory / name
            if candidate.is_file():
                found.append(candidate.resolve())
                break
    return found


def fingerprint(path: pathlib.Path) -> str:
    """A hash of the file and of every local header it reaches, each once, in a fixed order."""
    digest = hashlib.sha256()
    seen: set[pathlib.Path] = set()
    pending = [path.resolve()]
    texts = {}
    while pending:  # bounded: each file is read at most once
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        texts[current] = current.read_text(encoding="utf-8")
        pending.extend(local_includes(current, texts[current]))
    # The main file first, then the headers by name, so copies in two stages hash alike.
    digest.update(texts.pop(path.resolve()).encode())
    for header in sorted(texts, key=lambda p: (p.name, texts[p])):
        digest.update(header.name.encode() + b"\0" + texts[header].encode())
    return digest.hexdigest()


def main() -> int:
    printed: set[str] = set()
    for argument in sys.argv[1:]:
        key = fingerprint(pathlib.Path(argument))
        if key not in printed:
            printed.add(key)
            print(argument)
    return 0


if __name__ == "__main__":
    sys.exit(main())
