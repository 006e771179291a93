"""report_tables (a reader of compat.md as a GitHub-flavoured renderer sees it) beside these tests."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
