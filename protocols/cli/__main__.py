import sys

from protocols.cli import main

sys.exit(main())
