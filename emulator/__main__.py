"""`python -m emulator ...`: see emulator/cli.py.

Any interpreter may start this one (under sudo, `python` is the system's): emulator.entry, which imports only
the standard library, hands over to the project's virtualenv before anything imports a third-party package.
"""

import sys

from emulator.entry import main

sys.exit(main())
