"""``python -m benchmarks``: run every benchmark (see :mod:`benchmarks.run_all`)."""

from .run_all import main

main()
