"""What a SQLite database file holds, byte for byte (deleted words must not stay)."""

from __future__ import annotations

import subprocess
import sys

_SCRIPT = (
    "import sqlite3, sys, pathlib\n"
    "path, text = sys.argv[1], sys.argv[2].encode()\n"
    "c = sqlite3.connect(path, isolation_level=None, timeout=10)\n"
    "c.execute('PRAGMA wal_checkpoint(TRUNCATE)').fetchall()\n"
    "c.close()\n"
    "wal = pathlib.Path(path + '-wal')\n"
    "found = text in pathlib.Path(path).read_bytes()\n"
    "found = found or (wal.exists() and text in wal.read_bytes())\n"
    "print(int(found))\n"
)


def file_holds(path: str, text: str) -> bool:
    """Checkpointed, do the file or its WAL hold ``text``? Read by another process:
    closing a descriptor of the file in this one would drop SQLite's locks here."""
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, path, text], capture_output=True, text=True, check=True
    )
    return done.stdout.strip() == "1"
