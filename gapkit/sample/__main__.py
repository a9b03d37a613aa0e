import sys

from gapkit.sample.cli import main

sys.exit(main())
