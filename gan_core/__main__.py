"""Entry point: ``python -m gan_core presets | train | evaluate | bench`` (see gan_core.cli)."""
import sys

from .cli import main

sys.exit(main())
