"""CI's smoke check of the harness and the server: `python -m bench.smoke REPORT.json`.

Loose floors on a `--quick` run: nothing lost, nothing duplicated, nothing out of
order, and the offered rate sustained. Latency targets are for `bench/README.md`,
not for CI: a shared CI box is no place to time things.
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as handle:
        report = json.load(handle)
    problems = [
        f"{key} = {report[key]}"
        for key in ("lost", "duplicated", "out_of_order")
        if report[key] != 0
    ]
    if report["achieved_rate"] < 0.9 * report["offered_rate"]:
        problems.append(f"achieved {report['achieved_rate']} of {report['offered_rate']} msg/s")
    if not report["latency_ms"]:
        problems.append("no message was delivered")
    verdict = "; ".join(problems) or "ok"
    p99 = report["latency_ms"].get("p99")
    print(f"bench smoke ({report['scenario']}): {verdict}; p99 {p99} ms")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
