#!/usr/bin/env python3
"""Decodes the rich error that `buf curl` prints for a failed RPC (a Connect-style JSON error whose
`details` carry base64 protobuf), so that .ci/clients can assert on it.

Reads buf's stderr on stdin; prints one line: `<code> <ErrorInfo.reason> <field,field,...>` where the
fields are the BadRequest field violations. Standard library only (a minimal protobuf reader for
the two google.rpc messages involved).
"""

import base64
import json
import sys


def b64(text):
    text = text.strip()
    pad = "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text + pad, altchars=b"-_" if ("-" in text or "_" in text) else None)
    except ValueError:
        return base64.urlsafe_b64decode(text + pad)


def varint(buf, i):
    shift = value = 0
    while True:
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, i
        shift += 7


def fields(buf):
    """Yields (field number, bytes or int) of one protobuf message."""
    i = 0
    while i < len(buf):
        key, i = varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = varint(buf, i)
        elif wire == 2:
            size, i = varint(buf, i)
            value, i = buf[i:i + size], i + size
        elif wire == 1:
            value, i = buf[i:i + 8], i + 8
        elif wire == 5:
            value, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"wire type {wire}")
        yield number, value


def main():
    # `buf curl -v` mixes its trace lines ("buf: ...") with the error JSON on stderr.
    text = "\n".join(line for line in sys.stdin.read().splitlines() if not line.startswith("buf: "))
    err = json.loads(text[text.index("{"):])
    reason, violations = "-", []
    for detail in err.get("details", []):
        kind, raw = detail.get("type", ""), b64(detail.get("value", ""))
        if kind.endswith("google.rpc.ErrorInfo"):
            reason = next((v.decode() for n, v in fields(raw) if n == 1), "-")
        elif kind.endswith("google.rpc.BadRequest"):
            for n, v in fields(raw):
                if n == 1:
                    violations += [f.decode() for m, f in fields(v) if m == 1]
    print(err.get("code", "-"), reason, ",".join(violations) or "-")


if __name__ == "__main__":
    main()
