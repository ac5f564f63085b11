"""What the scripts that generate docs/*.md share: the commit they ran at, and an atomic
write (a killed script never leaves a half-written page)."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def short_commit() -> str:
    """The checkout's short commit hash, or ``unknown`` outside a git checkout."""
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def write_doc(path: Path, text: str) -> None:
    """Write a generated page in one step and say so."""
    partial = path.with_suffix(".md.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
    print(f"wrote {path}")
