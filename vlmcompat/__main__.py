import sys

from vlmcompat.cli import main

sys.exit(main())
