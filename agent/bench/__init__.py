"""Batch runs: options, run and resume, executors (threads, Ray), the batch budget and the
SWE-bench-style outputs.
"""
