#!/usr/bin/env python3
"""Recomputes the worked examples in the lessons from the lessons' own text.

The stage READMEs and docs/*.md quote bytes a learner is meant to check by hand: the accept key
for the RFC's sample key, the masking XOR of "Hello", the length bytes of each length form, the
UTF-8 bytes of a character, which close codes may travel in a frame. This script finds each
example in the text, recomputes it with Python's standard library, and fails with the file and
line of every example that does not add up. It also fails when an example it knows of can no
longer be found, so a lesson cannot lose one silently.

Run from anywhere: python3 tools/check_worked_examples.py [REPOSITORY_ROOT]
It is registered as the ctest test `docs.worked_examples`.
"""

import base64
import hashlib
import re
import sys
from pathlib import Path

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3
HEX_BYTES = r"[0-9a-fA-F]{2}(?: [0-9a-fA-F]{2})*"  # "81 05 48", as the lessons write bytes

failures = []


class Text:
    """One lesson file, with line numbers for the messages."""

    def __init__(self, root, path):
        self.name = str(path.relative_to(root))
        self.text = path.read_text(encoding="utf-8")

    def line_of(self, offset):
        return self.text.count("\n", 0, offset) + 1

    def fail(self, match, message):
        failures.append(f"{self.name}:{self.line_of(match.start())}: {message}")


def hex_to_bytes(text):
    return bytes.fromhex(text)


def accept_key(key):
    """Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 §4.2.2)."""
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def decode_frame(data):
    """The header fields and unmasked payload of a frame (RFC 6455 §5.2), or None if cut short.

    The payload may be absent (a lesson often gives the header alone); then it is None."""
    if len(data) < 2:
        return None
    fin, rsv1, opcode = data[0] >> 7, (data[0] >> 6) & 1, data[0] & 0x0F
    masked, length, pos = data[1] >> 7, data[1] & 0x7F, 2
    if length in (126, 127):
        size = 2 if length == 126 else 8
        if len(data) < pos + size:
            return None
        length, pos = int.from_bytes(data[pos:pos + size], "big"), pos + size
    key = b""
    if masked:
        if len(data) < pos + 4:
            return None
        key, pos = data[pos:pos + 4], pos + 4
    payload = data[pos:pos + length] if len(data) >= pos + length else None
    if payload is not None and masked:
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return {"fin": fin, "rsv1": rsv1, "opcode": opcode, "masked": masked, "length": length,
            "header_size": pos, "payload": payload}


def length_bytes(length, masked):
    """The second byte and the extended length of a header for `length`, in the shortest form."""
    mask_bit = 0x80 if masked else 0
    if length <= 125:
        return bytes([mask_bit | length]), b""
    if length <= 0xFFFF:
        return bytes([mask_bit | 126]), length.to_bytes(2, "big")
    return bytes([mask_bit | 127]), length.to_bytes(8, "big")


def valid_on_the_wire(code):
    """May `code` travel in a close frame? (RFC 6455 §7.4, with 1012-1014 from IANA's registry)"""
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999


def codes_in(cell):
    """The close codes a table cell names: "1012-1014", "0-999, 5000+", "1004"."""
    codes = []
    for first, last, plus in re.findall(r"(\d+)(?:-(\d+))?(\+)?", cell):
        last = 65535 if plus else int(last or first)
        codes.extend(range(int(first), last + 1))
    return codes


# ---- the checks: each takes every lesson text and returns how many examples it checked ----


def check_accept_keys(texts):
    """Every Sec-WebSocket-Accept value matches a Sec-WebSocket-Key given in the same file (or,
    in a file that gives none, the RFC's sample key); and the worked table's SHA-1 row."""
    checked = 0
    for t in texts:
        keys = re.findall(r"Sec-WebSocket-Key: ([A-Za-z0-9+/]{22}==)", t.text)
        keys = sorted(set(keys)) or ["dGhlIHNhbXBsZSBub25jZQ=="]
        for m in re.finditer(r"Sec-WebSocket-Accept: ([A-Za-z0-9+/]{27}=)", t.text):
            checked += 1
            if m.group(1) not in {accept_key(k) for k in keys}:
                t.fail(m, f"Sec-WebSocket-Accept {m.group(1)} is not the accept key of "
                          f"{' or '.join(keys)} (that is {accept_key(keys[0])})")
        for m in re.finditer(r"\| the client's key \| `([A-Za-z0-9+/=]+)`", t.text):
            key = m.group(1)
            rows = {name: value for name, value in re.findall(
                r"^\| (append the GUID[^|]*|SHA-1 of that string[^|]*|base64 of the 20 bytes) "
                r"\| `([^`]+)`", t.text, re.MULTILINE)}
            expected = {
                "append": key + GUID,
                "SHA-1": hashlib.sha1((key + GUID).encode()).hexdigest(),
                "base64": accept_key(key),
            }
            for name, value in rows.items():
                want = next(v for k, v in expected.items() if name.startswith(k))
                checked += 1
                if value.replace(" ", "").lower() != want.replace(" ", "").lower():
                    t.fail(m, f"the row '{name.strip()}' says {value}, but it is {want}")
            if len(rows) != 3:
                t.fail(m, "the accept key table lost a row (append, SHA-1 or base64)")
    return checked


def check_masking_example(texts):
    """The column-per-byte XOR example: letters, payload, key[i % 4] and XOR rows agree."""
    checked = 0
    pattern = re.compile(
        r"^ *((?:[A-Za-z] +)+[A-Za-z])\s*\n"             # H     e     l     l     o
        r" *(" + HEX_BYTES.replace(" ", " +") + r") +payload\s*\n"
        r" *(" + HEX_BYTES.replace(" ", " +") + r") +key\[i % 4\]\s*\n"
        r" *(" + HEX_BYTES.replace(" ", " +") + r") +XOR", re.MULTILINE)
    for t in texts:
        for m in pattern.finditer(t.text):
            checked += 1
            letters = m.group(1).split()
            payload, key, xor = (bytes.fromhex(m.group(i)) for i in (2, 3, 4))
            if bytes("".join(letters), "ascii") != payload:
                t.fail(m, f"the payload row {payload.hex(' ')} is not {''.join(letters)!r}")
            stated = re.search(r"with key `(" + HEX_BYTES + r")`", t.text[:m.start()][-300:])
            if stated and bytes(key[i % 4] for i in range(4)) != bytes.fromhex(stated.group(1)):
                t.fail(m, f"the key row does not repeat the key {stated.group(1)}")
            if any(key[i] != key[i % 4] for i in range(len(key))):
                t.fail(m, "the key row is not the 4-byte key repeated")
            want = bytes(p ^ k for p, k in zip(payload, key))
            if xor != want:
                t.fail(m, f"XOR row {xor.hex(' ')} should be {want.hex(' ')}")
    return checked


def check_length_forms(texts):
    """The table of length forms: second byte, extended length and header size for each length;
    and "N characters ... `7e 00 c8` length bytes" in exercises."""
    checked = 0
    row = re.compile(r"^\| ([\d,]+) bytes \| `([0-9a-f]{2})`[^|]*\| (none|`(" + HEX_BYTES +
                     r")`[^|]*) \| (?:[\d +]+= )?(\d+) \|", re.MULTILINE)
    for t in texts:
        for m in row.finditer(t.text):
            checked += 1
            length = int(m.group(1).replace(",", ""))
            second, extended = length_bytes(length, masked=True)
            if bytes.fromhex(m.group(2)) != second:
                t.fail(m, f"{length} bytes: the second byte (masked) is {second.hex()}, "
                          f"not {m.group(2)}")
            stated_ext = bytes.fromhex(m.group(4)) if m.group(4) else b""
            if stated_ext != extended:
                t.fail(m, f"{length} bytes: the extended length is "
                          f"{extended.hex(' ') or 'none'}, not {m.group(3)}")
            if int(m.group(5)) != 2 + len(extended) + 4:
                t.fail(m, f"{length} bytes: the masked header is {2 + len(extended) + 4} bytes, "
                          f"not {m.group(5)}")
        for m in re.finditer(r"(\d+) characters and find its `(" + HEX_BYTES + r")` length bytes",
                             t.text):
            checked += 1
            second, extended = length_bytes(int(m.group(1)), masked=False)
            if bytes.fromhex(m.group(2)) != second + extended:
                t.fail(m, f"{m.group(1)} bytes from the server are announced as "
                          f"{(second + extended).hex(' ')}, not {m.group(2)}")
    return checked


def check_frames(texts):
    """Frames quoted with what they carry: `"Hello" goes out as `81 05 ...``, the §5.7 table
    (`| unmasked text "Hello" | `81 05 ...` |`), and the --raw table (`| `81 02 68 69` | text
    "hi" ...`, `binary of 2^63-1 bytes`, `announcing 126 bytes`)."""
    checked = 0
    opcodes = {"continuation": 0, "text": 1, "binary": 2, "close": 8, "ping": 9, "pong": 10}
    quoted = re.compile(r'"([^"]+)"\s+(?:goes\s+out|comes\s+in)\s+as\s+`(' + HEX_BYTES + r")`")
    table = re.compile(r"^\| ([^|`]*?) \| `(" + HEX_BYTES + r")`(?: \+ ([\d,]+) bytes)? \|",
                       re.MULTILINE)
    raw_table = re.compile(r"^ *\| `(" + HEX_BYTES + r")` \| ([^|]*) \|", re.MULTILINE)
    for t in texts:
        found = [(m, f'"{m.group(1)}"', m.group(2), None) for m in quoted.finditer(t.text)]
        found += [(m, m.group(1), m.group(2), m.group(3)) for m in table.finditer(t.text)
                  if not re.fullmatch(r"[\d,]+ bytes", m.group(1))]  # the length-forms table
        found += [(m, m.group(2), m.group(1), None) for m in raw_table.finditer(t.text)]
        for m, said, data, more in found:
            frame = decode_frame(bytes.fromhex(data))
            if frame is None:
                if re.search(r"\d+ bytes|\"", said):
                    t.fail(m, f"`{data}` is not even a whole frame header")
                continue
            checked += 1
            text = re.search(r'"([^"]*)"', said)
            payload = frame["payload"]
            if text and payload is not None and payload != text.group(1).encode():
                t.fail(m, f"`{data}` carries {payload!r}, not {text.group(1)!r}")
            if more and frame["length"] != int(more.replace(",", "")):
                t.fail(m, f"`{data}` announces {frame['length']} bytes, not {more}")
            count = re.search(r"([\d,]+)-byte|(2\^63-1)|announcing ([\d,]+) bytes", said)
            if count:
                want = 2**63 - 1 if count.group(2) else int((count.group(1) or count.group(3))
                                                            .replace(",", ""))
                if frame["length"] != want:
                    t.fail(m, f"`{data}` announces {frame['length']} bytes, not {want}")
            for word, value in opcodes.items():
                if re.search(rf"\b{word}\b", said) and "opcode" not in said:
                    if frame["opcode"] != value:
                        t.fail(m, f"`{data}` has opcode {frame['opcode']}, not {word}")
                    break
            if re.search(r"\bunmasked\b", said) and frame["masked"]:
                t.fail(m, f"`{data}` is masked, the text says unmasked")
            if re.search(r"(?<!un)masked\b", said) and not frame["masked"]:
                t.fail(m, f"`{data}` is not masked, the text says masked")
            if "RSV1 set" in said and not frame["rsv1"]:
                t.fail(m, f"`{data}` does not set RSV1")
            op = re.search(r"opcode (\d+)", said)
            if op and frame["opcode"] != int(op.group(1)):
                t.fail(m, f"`{data}` has opcode {frame['opcode']}, not {op.group(1)}")
            if "first fragment" in said and frame["fin"]:
                t.fail(m, f"`{data}` has FIN set, but it is a first fragment")
    return checked


def check_utf8(texts):
    """Bytes named as a character decode to it; the table of invalid sequences is invalid."""
    checked = 0
    for t in texts:
        for m in re.finditer(r"ends\s+with\s+`([0-9a-f]{2})`\s+and\s+whose\s+second\s+starts\s+"
                             r"with\s+`([0-9a-f]{2})`\.\s+\(Hint:\s+together\s+they\s+are\s+"
                             r"`(.)`,\s+U\+([0-9A-F]+)", t.text):
            checked += 1
            data = bytes.fromhex(m.group(1) + m.group(2))
            if data.decode("utf-8", "replace") != m.group(3):
                t.fail(m, f"{data.hex(' ')} is {data.decode('utf-8', 'replace')!r}, "
                          f"not {m.group(3)!r}")
            if ord(m.group(3)) != int(m.group(4), 16):
                t.fail(m, f"{m.group(3)} is U+{ord(m.group(3)):04X}, not U+{m.group(4)}")
        for m in re.finditer(r"`(" + HEX_BYTES + r")`\s+would\s+be\s+`(.)`", t.text):
            checked += 1
            data = bytes.fromhex(m.group(1))
            if data.decode("utf-8", "replace") != m.group(2):
                t.fail(m, f"{m.group(1)} is {data.decode('utf-8', 'replace')!r}, "
                          f"not {m.group(2)!r}")
        for m in re.finditer(r"^\| `(" + HEX_BYTES + r")(?: \.\.\.)?`(?: at the end)? \| "
                             r"(overlong|U\+|would be above|truncated)", t.text, re.MULTILINE):
            checked += 1
            try:
                bytes.fromhex(m.group(1)).decode("utf-8")
                t.fail(m, f"{m.group(1)} is valid UTF-8, the table calls it invalid")
            except UnicodeDecodeError:
                pass
    return checked


def check_close_codes(texts):
    """Which codes may travel in a close frame: the 02 table's last column, the lists that say
    "never sent" or "not allowed on the wire", and close payloads quoted with their code."""
    checked = 0
    row = re.compile(r"^\| ([\d ,+-]+) \|[^\n]*\| (yes|\*\*no\*\*)[^|\n]*\|$", re.MULTILINE)
    for t in texts:
        for m in row.finditer(t.text):
            codes = codes_in(m.group(1))
            if not codes:
                continue
            checked += 1
            claim = m.group(2) == "yes"
            wrong = [c for c in codes if valid_on_the_wire(c) != claim]
            if wrong:
                t.fail(m, f"codes {m.group(1).strip()} are said {'' if claim else 'not '}to be "
                          f"sent on the wire, but {wrong[0]} {'is not' if claim else 'is'} "
                          "allowed in a close frame")
        for m in re.finditer(r"not allowed on the wire \(([^)]*)\)", t.text):
            checked += 1
            bad = [c for c in codes_in(m.group(1)) if valid_on_the_wire(c)]
            if bad:
                t.fail(m, f"{bad[0]} is allowed on the wire")
        for m in re.finditer(r"exist only to be \*reported\*, never sent: ([^.]*)\.", t.text):
            checked += 1
            bad = [c for c in map(int, re.findall(r"\b(1\d{3})\b", m.group(1)))
                   if valid_on_the_wire(c)]
            if bad:
                t.fail(m, f"{bad[0]} may be sent")
        for m in re.finditer(r"`(" + HEX_BYTES + r")` \(code (\d+)", t.text):
            checked += 1
            code = int.from_bytes(bytes.fromhex(m.group(1))[:2], "big")
            if code != int(m.group(2)):
                t.fail(m, f"{m.group(1)[:5]} is code {code}, not {m.group(2)}")
        for m in re.finditer(r"(\d+) bytes: (" + HEX_BYTES + r") \(close (\d+) \"([^\"]*)\"\)",
                             t.text):
            checked += 1
            data = bytes.fromhex(m.group(2))
            if len(data) != int(m.group(1)):
                t.fail(m, f"{len(data)} bytes are shown, {m.group(1)} announced")
            if int.from_bytes(data[:2], "big") != int(m.group(3)):
                t.fail(m, f"{m.group(2)[:5]} is code {int.from_bytes(data[:2], 'big')}, "
                          f"not {m.group(3)}")
            if data[2:].decode("utf-8", "replace") != m.group(4):
                t.fail(m, f"the reason bytes say {data[2:].decode('utf-8', 'replace')!r}")
    return checked


# Each check, and the fewest examples it must find in today's lessons: fewer means an example
# was reworded out of the check's reach (fix the check) or deleted (lower the number).
CHECKS = [
    (check_accept_keys, 6),
    (check_masking_example, 1),
    (check_length_forms, 6),
    (check_frames, 17),
    (check_utf8, 8),
    (check_close_codes, 20),
]


def main():
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent)
    paths = sorted(root.glob("[0-9][0-9]_*/README.md")) + sorted(root.glob("docs/*.md"))
    texts = [Text(root, path) for path in paths]
    for check, at_least in CHECKS:
        checked = check(texts)
        print(f"{check.__name__}: {checked} examples checked")
        if checked < at_least:
            failures.append(f"{check.__name__}: found {checked} examples, expected at least "
                            f"{at_least}: was one reworded or removed?")
    for failure in failures:
        print(failure, file=sys.stderr)
    print(f"{len(failures)} wrong" if failures else "every worked example adds up")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
