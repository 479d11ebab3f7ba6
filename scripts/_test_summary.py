"""Print one summary of every test suite's results, read from the files scripts/test wrote.

pytest.xml and js.xml are JUnit XML (pytest --junitxml, node --test's junit reporter);
go.json is `go test -json`. A suite that did not run leaves <suite>.skipped with the reason.
Exits 1 when any test failed or a suite left no results, so the summary is also the verdict.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ElementTree
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

SUITES = (("pytest.xml", "Python (pytest)"), ("js.xml", "JavaScript SDK"), ("go.json", "Go SDK"))
SHOWN_FAILURES = 20


@dataclass
class Results:
    passed: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    failed: list[str] = field(default_factory=list)


def read_junit(path: Path) -> Results:
    results = Results()
    for case in ElementTree.parse(path).iter("testcase"):
        name = ".".join(filter(None, (case.get("classname"), case.get("name"))))
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        skip = case.find("skipped")
        if problem is not None:
            first = (problem.get("message") or problem.text or "").strip().splitlines()
            results.failed.append(f"{name}: {first[0] if first else 'failed'}"[:300])
        elif skip is not None:
            results.skipped[skip.get("message") or "no reason given"] += 1
        else:
            results.passed += 1
    return results


def read_go(path: Path) -> Results:
    results = Results()
    output: dict[tuple[str, str], list[str]] = {}
    for line in path.read_text().splitlines():
        if not line.startswith("{"):
            continue
        event = json.loads(line)
        test, action = event.get("Test"), event.get("Action")
        key = (event.get("Package", ""), test or "")
        if action == "output":
            output.setdefault(key, []).append(event["Output"].strip())
        elif action == "fail" and not test:
            if not any(k[0] == key[0] and k[1] for k in output):  # e.g. a build failure
                results.failed.append(f"{key[0]}: {' '.join(output.get(key, []))[:300]}")
        elif test and action in ("pass", "fail", "skip"):
            said = [o for o in output.get(key, []) if o and not o.startswith(("---", "==="))]
            if action == "pass":
                results.passed += 1
            elif action == "skip":
                results.skipped[said[-1].split(": ", 1)[-1] if said else "no reason given"] += 1
            else:
                results.failed.append(f"{key[0]}.{test}: {said[-1] if said else 'failed'}"[:300])
    return results


def main(folder: Path) -> int:
    verdict = 0
    print("\n== Test summary ==")
    for filename, title in SUITES:
        path = folder / filename
        skipped_suite = path.with_suffix(".skipped")
        if skipped_suite.exists():
            print(f"{title}: not run: {skipped_suite.read_text().strip()}")
            continue
        if not path.exists() or path.stat().st_size == 0:
            print(f"{title}: NO RESULTS (the suite stopped before its tests; see above)")
            verdict = 1
            continue
        results = read_go(path) if filename.endswith(".json") else read_junit(path)
        print(
            f"{title}: {results.passed} passed, {len(results.failed)} failed, "
            f"{sum(results.skipped.values())} skipped"
        )
        for reason, count in results.skipped.most_common():
            print(f"    skipped {count}: {reason}")
        for failure in results.failed[:SHOWN_FAILURES]:
            print(f"    FAILED {failure}")
        if len(results.failed) > SHOWN_FAILURES:
            print(f"    ... and {len(results.failed) - SHOWN_FAILURES} more failures above")
        verdict |= bool(results.failed)
    return verdict


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
