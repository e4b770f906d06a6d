"""The parts of ``benchmarks/run_all.py``, one module a part (imported with ``benchmarks/`` on ``sys.path``,
as run_all.py puts it, so that they find their sibling modules flops, bench_training and peak_memory)."""
