"""Load harness for imbachat: `python -m bench.run SCENARIO [--quick] [--json FILE]`."""
