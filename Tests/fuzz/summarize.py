"""Condenses a Schemathesis run (its JUnit report, the hooks' ledger, the output's last lines) into a short
failure summary: one entry per failing operation and check, with the reproducing request.

    python3 Tests/fuzz/summarize.py <report directory>
"""

import json
import os
import re
import sys
import xml.etree.ElementTree as ElementTree


def failures(junit_path):
    """(operation, kind, text) for every failure and error in the JUnit report."""
    try:
        tree = ElementTree.parse(junit_path)
    except (OSError, ElementTree.ParseError) as error:
        return [("(report)", "error", f"no readable JUnit report at {junit_path}: {error}")]
    found = []
    for case in tree.iter("testcase"):
        for kind in ("failure", "error"):
            for element in case.findall(kind):
                found.append((case.get("name", "?"), kind, element.text or element.get("message") or ""))
    return found


def condense(text, width=400):
    """The lines of one Schemathesis failure text that say what broke and how to reproduce it."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    kept = []
    in_check = 0
    take_body = False
    for line in lines:
        if re.match(r"^- [A-Z]+\d+ ", line):
            kept.append("  " + line[:width])
            in_check = 4
        elif re.match(r"^\[\d{3}\]", line):
            kept.append("    " + line[:width])
            take_body, in_check = True, 0
        elif take_body:
            kept.append("    " + line[:width])
            take_body = False
        elif line.startswith("curl "):
            kept.append("    " + line[:width * 4])
        elif in_check and not line.startswith(("Expected:", "Reproduce with")):
            kept.append("    " + line[:width])
            in_check -= 1
    if not kept:
        kept = ["  " + line[:width] for line in lines[:8]]
    return kept


def main():
    report = sys.argv[1] if len(sys.argv) > 1 else "."
    out = []
    found = failures(os.path.join(report, "junit.xml"))
    for operation, kind, text in found:
        out.append(f"{operation} ({kind}):")
        out.extend(condense(text))
    ledger_path = os.path.join(report, "ledger.json")
    if os.path.exists(ledger_path):
        with open(ledger_path) as file:
            ledger = json.load(file)
        statuses = ", ".join(f"{code}: {count}" for code, count in ledger.get("statuses", {}).items())
        out.append(f"requests sent: {ledger.get('requests', 0)} ({statuses})")
    output_path = os.path.join(report, "output.txt")
    if os.path.exists(output_path):
        with open(output_path, errors="replace") as file:
            tail = [line.rstrip() for line in file.readlines()[-40:]]
        for line in tail:
            if re.search(r"generated|^Seed:|failures?|errors?|passed in|warning", line) and not line.startswith("  -"):
                out.append(line.strip())
    print("\n".join(out) if out else "no failures")


if __name__ == "__main__":
    main()
