"""Load harness for imbachat: `python -m bench.run SCENARIO [--quick] [--json FILE]`."""

import importlib.util
import sys

_EXTRAS = ("hdrh", "psutil", "picows", "uvloop")
_missing = [name for name in _EXTRAS if importlib.util.find_spec(name) is None]
if _missing:
    sys.exit(
        f"bench: missing {', '.join(_missing)}; install the benchmark extras first: "
        "pip install -e '.[dev,bench]'"
    )
