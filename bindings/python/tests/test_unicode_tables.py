"""The committed Unicode tables (src/unicode/unicode_classes.inc) are what the committed
generator makes from the installed Unicode Character Database."""

import pathlib
import subprocess
import sys

import pytest

from conftest import SOURCE_DIR

UCD = pathlib.Path("/usr/share/unicode/UnicodeData.txt")


def test_generated_tables_are_current():
    if not UCD.is_file():
        pytest.skip(f"{UCD} is absent: run scripts/install-deps.sh (unicode-data)")
    generated = subprocess.run([sys.executable, str(SOURCE_DIR / "scripts" / "gen-unicode-tables.py")],
                               check=True, capture_output=True, text=True).stdout
    committed = (SOURCE_DIR / "src" / "unicode" / "unicode_classes.inc").read_text()
    assert generated == committed, "rerun scripts/gen-unicode-tables.py > src/unicode/unicode_classes.inc"
