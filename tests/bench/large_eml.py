#!/usr/bin/env python3
"""large_eml.py DATA_DIR EML_DIR COUNT SITES — the messages of bench_large.sh as .eml files
for Postfix: message i carries DATA_DIR/att-i.bin as one attachment, in the layout sitemaild
composes for an outbox row with body_text and one outbox_attachment row (server/smtp/
message.cpp, mime.cpp): the same headers, multipart/mixed, the text part, the attachment
base64 in 76-column lines, CRLF line ends. Only the Date and the random boundaries
differ from what sitemaild sends (checked against smtp-sink -d: the same
octet count). Prints the total size in octets.

large_eml.py inject EML_DIR SITES PORT — sends EML_DIR/i.eml to the SMTP server on
127.0.0.1:PORT (Postfix's smtpd) from bench@lib.example to rcpt@sNNNN.dest.example, site
NNNN = i % SITES (the private Postfix routes that domain to the site's sink), 4 at a time."""
import base64
import concurrent.futures
import os
import secrets
import smtplib
import sys
import time

BODY = "The report is attached.\r\n"


def boundary():
    return "=_sitemail_" + secrets.token_hex(12)


def message(i, site, data):
    mixed = boundary()
    name = f"report-{i}.pdf"
    head = (f"Date: {time.strftime('%a, %d %b %Y %H:%M:%S +0000', time.gmtime())}\r\n"
            f"From: bench@lib.example\r\n"
            f"To: rcpt@dest.example\r\n"
            f"Subject: large {i}\r\n"
            f"Message-ID: <sitemail.{i + 1}.{site.lower()}@lib.example>\r\n"
            f"MIME-Version: 1.0\r\n"
            f"Content-Type: multipart/mixed; boundary=\"{mixed}\"\r\n\r\n"
            f"This is a multi-part message in MIME format.\r\n\r\n"
            f"--{mixed}\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n"
            f"Content-Transfer-Encoding: 7bit\r\n\r\n"
            f"{BODY}\r\n"
            f"--{mixed}\r\n"
            f"Content-Type: application/pdf;\r\n name=\"{name}\"\r\n"
            f"Content-Disposition: attachment;\r\n filename=\"{name}\"\r\n"
            f"Content-Transfer-Encoding: base64\r\n\r\n").encode()
    b64 = base64.b64encode(data)
    lines = b"\r\n".join(b64[k:k + 76] for k in range(0, len(b64), 76)) + b"\r\n"
    return head + lines + f"--{mixed}--\r\n".encode()


def inject(eml_dir, sites, port):
    names = sorted(os.listdir(eml_dir), key=lambda n: int(n.split(".")[0]))

    def one(name):
        i = int(name.split(".")[0])
        with open(os.path.join(eml_dir, name), "rb") as f:
            data = f.read()
        with smtplib.SMTP("127.0.0.1", port, timeout=300) as s:
            s.sendmail("bench@lib.example", ["rcpt@s%04d.dest.example" % (i % sites)], data)

    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        for _ in ex.map(one, names):
            pass


def main():
    if sys.argv[1] == "inject":
        inject(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        return
    data_dir, eml_dir, count, sites = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    os.makedirs(eml_dir, exist_ok=True)
    total = 0
    for i in range(count):
        site = "S%04d" % (i % sites)
        with open(os.path.join(data_dir, f"att-{i}.bin"), "rb") as f:
            m = message(i, site, f.read())
        with open(os.path.join(eml_dir, f"{i}.eml"), "wb") as f:
            f.write(m)
        total += len(m)
    print(total)


if __name__ == "__main__":
    main()
