"""What the model runs on, kept out of its way: memory, BLAS threads, files.

* :mod:`~minigpt.runtime.allocator` -- keep freed memory mapped between training steps;
* :mod:`~minigpt.runtime.threads` -- how many threads BLAS uses;
* :mod:`~minigpt.runtime.atomic` -- files that are written whole or not at all;
* :mod:`~minigpt.runtime.tensorfile` -- the safetensors format, read and written in numpy.

None of it changes a number the model computes. The old paths (``minigpt.threads`` and the
others) import the same modules.
"""
