#!/usr/bin/env python3
"""Supply-chain and secret checks that need no advisory database (security anchors 71 and 72).

- Sources: every crate in Cargo.lock comes from crates.io, every npm package in the e2e tests'
  package-lock.json from registry.npmjs.org (no git dependencies, no other registries).
- Licences: every crate in the dependency graph (`cargo metadata --locked`, all targets) has a
  licence expression that an allowed licence satisfies.
- Secrets: no tracked file holds a private key, a cloud or forge token, or a database URL with a
  password; the shipped configuration files leave every secret setting empty.

RustSec advisories (`cargo audit`) need the advisory database from GitHub, which this machine
cannot reach; that part of anchor 72 stays open (README, Known gaps).
Exit status 1 with one line per finding; 0 and a summary line otherwise.
"""

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRATES_IO = "registry+https://github.com/rust-lang/crates.io-index"
NPM = "https://registry.npmjs.org/"

# Permissive licences (and MPL-2.0, file-level copyleft) a closed deployment may ship.
ALLOWED = {
    "MIT", "MIT-0", "Apache-2.0", "BSD-2-Clause", "BSD-3-Clause", "ISC", "Zlib", "0BSD",
    "Unlicense", "CC0-1.0", "BSL-1.0", "Unicode-3.0", "Unicode-DFS-2016", "MPL-2.0",
    "PostgreSQL", "CDLA-Permissive-2.0",
}

findings = []


def licence_ok(expr: str) -> bool:
    """Whether an SPDX expression (also the old `A/B` form) is satisfied by allowed licences."""
    tokens = re.findall(r"\(|\)|[A-Za-z0-9.+\-]+", expr.replace("/", " OR "))
    pos = 0

    def peek():
        return tokens[pos] if pos < len(tokens) else None

    def take():
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def primary():
        if peek() == "(":
            take()
            v = either()
            if take() != ")":
                raise ValueError(expr)
            return v
        name = take()
        if peek() == "WITH":
            take()
            take()  # an exception only ever widens what the licence allows
        return name.removesuffix("+") in ALLOWED

    def both():
        v = primary()
        while peek() == "AND":
            take()
            v = primary() and v
        return v

    def either():
        v = both()
        while peek() == "OR":
            take()
            v = both() or v
        return v

    try:
        ok = either()
        return ok and pos == len(tokens)
    except (IndexError, ValueError):
        return False


def sources():
    lock = tomllib.loads((ROOT / "Cargo.lock").read_text())
    for p in lock.get("package", []):
        src = p.get("source")
        if src is not None and src != CRATES_IO:
            findings.append(f"source: crate {p['name']} {p['version']} comes from {src}, not crates.io")
    npm_lock = ROOT / "tests/e2e/package-lock.json"
    if npm_lock.exists():
        for name, p in json.loads(npm_lock.read_text()).get("packages", {}).items():
            url = p.get("resolved")
            if name and url and not url.startswith(NPM):
                findings.append(f"source: npm package {name} comes from {url}, not {NPM}")
    return len(lock.get("package", []))


def licences():
    out = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--locked"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    meta = json.loads(out)
    ours = set(meta["workspace_members"])
    n = 0
    for p in meta["packages"]:
        if p["id"] in ours:
            continue
        n += 1
        lic = p.get("license")
        if not lic:
            findings.append(f"licence: crate {p['name']} {p['version']} states no licence expression")
        elif not licence_ok(lic):
            findings.append(f"licence: crate {p['name']} {p['version']} is `{lic}`, not an allowed licence")
    return n


SECRET_PATTERNS = [
    (re.compile(r"-----BEGIN (?:RSA |EC |OPENSSH |DSA |ENCRYPTED )?PRIVATE KEY-----"), "a private key"),
    (re.compile(r"\bAKIA[0-9A-Z]{16}\b"), "an AWS access key id"),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"), "a GitHub token"),
    (re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"), "a Slack token"),
    (re.compile(r"\bsk_live_[A-Za-z0-9]{16,}"), "a Stripe key"),
    # user:password@ in a database or mail URL, unless the password is a placeholder (the
    # README's SECRET, the redaction tests' secret, p and ***, a shell variable).
    (re.compile(r"\b(?:postgres(?:ql)?|smtps?|mysql)://[^\s:/@'\"]+:(?!(?:SECRET|secret|PASSWORD|password|p|\*\*\*|…|\.\.\.)@|\$)[^\s@'\"]+@"),
     "a URL with a password"),
]
SECRET_SETTINGS = {("database", "url"), ("campaigns", "smtp_password"), ("privacy", "hash_key"), ("auth", "totp_key")}


def secrets():
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout.split(b"\0")
    n = 0
    for f in files:
        if not f:
            continue
        path = ROOT / f.decode()
        if not path.is_file() or path.stat().st_size > 5_000_000:
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        n += 1
        for i, line in enumerate(text.splitlines(), 1):
            for pattern, what in SECRET_PATTERNS:
                if pattern.search(line):
                    findings.append(f"secret: {f.decode()}:{i} looks like {what}")
    for conf in sorted((ROOT / "config").glob("*.toml")):
        data = tomllib.loads(conf.read_text())
        for section, key in SECRET_SETTINGS:
            value = data.get(section, {}).get(key, "")
            if key == "url":
                if re.search(r"://[^/@]+:[^/@]+@", value):
                    findings.append(f"secret: {conf.name} [{section}] {key} holds a password")
            elif value:
                findings.append(f"secret: {conf.name} [{section}] {key} is set; give it through the environment")
    return n


crates = sources()
licensed = licences()
scanned = secrets()
for f in findings:
    print(f"ci: {f}")
if findings:
    sys.exit(1)
print(f"ci: supply chain and secrets: {crates} locked crates from crates.io, {licensed} crate licences allowed, {scanned} tracked files without secrets")
