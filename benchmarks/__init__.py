"""Benchmarks that run the same PyTorch-API code on torch and on ember, side by side."""
