"""``python -m minigpt``: the same as the ``minigpt`` command."""

from .cli import main

raise SystemExit(main())
