#!/usr/bin/env python3
"""check_links.py — every relative link in README.md and docs/*.md leads to a file of the
repository, and a link with #anchor to a heading of that markdown file (GitHub's slugs).
Also: README.md stays the front door (opens with the two commands, at most 15360 bytes).
Usage: check_links.py SOURCE_DIR   (ctest entry docs_links; exit 1 on a problem)."""
import glob, os, re, sys

root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
LINK = re.compile(r"(?<!\\)\[(?:[^\]\\]|\\.)*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def strip_code(text):
    """Drops fenced code blocks and inline code, where brackets are not links."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def slug(heading):
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to '-'."""
    h = re.sub(r"`", "", heading.strip().lower())
    h = re.sub(r"[^\w\- ]", "", h)
    return h.replace(" ", "-")


def anchors(path):
    seen, out = {}, set()
    for line in open(path, encoding="utf-8").read().split("\n"):
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        s = slug(m.group(1))
        n = seen.get(s, 0)
        seen[s] = n + 1
        out.add(s if n == 0 else f"{s}-{n}")
    return out


problems, checked = [], 0
files = [os.path.join(root, "README.md")] + sorted(glob.glob(os.path.join(root, "docs", "*.md")))
for f in files:
    raw = open(f, encoding="utf-8").read()
    rel = os.path.relpath(f, root)
    for target in LINK.findall(strip_code(raw)):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # http:, https:, mailto:
            continue
        checked += 1
        path, _, anchor = target.partition("#")
        dest = os.path.normpath(os.path.join(os.path.dirname(f), path)) if path else f
        if not dest.startswith(root + os.sep) and dest != root:
            problems.append(f"{rel}: link '{target}' leaves the repository")
        elif not os.path.exists(dest):
            problems.append(f"{rel}: link '{target}': no file {os.path.relpath(dest, root)}")
        elif anchor and dest.endswith(".md") and anchor not in anchors(dest):
            problems.append(f"{rel}: link '{target}': no heading with anchor #{anchor} in {os.path.relpath(dest, root)}")

readme = open(files[0], encoding="utf-8").read()
if not readme.split("\n## ")[0].count("```sh\ndeploy/quickstart.sh\ndeploy/test-all.sh\n```"):
    problems.append("README.md: must open with the code block of deploy/quickstart.sh and deploy/test-all.sh")
size = len(readme.encode("utf-8"))
if size > 15360:
    problems.append(f"README.md: {size} bytes, more than 15360: move the detail into docs/")

for p in problems:
    print(p)
print(f"checked {checked} relative links in {len(files)} files; README.md {size} bytes")
sys.exit(1 if problems else 0)
