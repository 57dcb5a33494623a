#!/usr/bin/python3
# mime_parts.py — the reference MIME parser of the attachment tests: Python's `email`
# package reads a message file (exact bytes a relay received) and prints one JSON object
# per leaf part: content type, disposition, file name (RFC 2231/2047 decoded), Content-ID,
# the decoded payload's length and SHA-256, and the path of multipart types above it.
# Also prints {"headers": {...}} first with the top-level header names and whether every
# octet of the message is 7-bit.
import email, email.policy, hashlib, json, sys

raw = open(sys.argv[1], "rb").read()
msg = email.message_from_bytes(raw, policy=email.policy.default)
print(json.dumps({"headers": [k for k in msg.keys()], "seven_bit": all(b < 128 for b in raw),
                  "defects": [str(d) for d in msg.defects]}))

def walk(part, path):
    if part.is_multipart():
        for sub in part.iter_parts():
            walk(sub, path + [part.get_content_type()])
        return
    payload = part.get_payload(decode=True) or b""
    print(json.dumps({
        "path": path,
        "type": part.get_content_type(),
        "disposition": part.get_content_disposition(),
        "filename": part.get_filename(),
        "cid": part.get("Content-ID"),
        "cte": part.get("Content-Transfer-Encoding"),
        "len": len(payload),
        "sha256": hashlib.sha256(payload).hexdigest(),
        "text": payload.decode("utf-8", "replace")[:200] if part.get_content_maintype() == "text" else None,
        "defects": [str(d) for d in part.defects],
    }))

walk(msg, [])
