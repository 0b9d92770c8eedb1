"""
The test run's settings: development's, as `make run` has them (DJANGO_DEBUG=1 unless the caller says
otherwise). The settings themselves default to production; the tests of production mode evaluate them
under their own environment, and the servers the tests start inherit this one.
"""

import os

os.environ.setdefault("DJANGO_DEBUG", "1")

from .settings import *  # noqa: F403
