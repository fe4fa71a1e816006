"""Benchmarks of minigpt: against PyTorch eager, against this machine's GEMM peak, for
generation with and without the KV cache, for the memory of a training step, and a profile.

``python -m benchmarks`` runs them all and writes markdown tables to ``benchmarks/results``;
``python -m benchmarks --smoke`` checks in seconds that every script works.
"""
