"""Touchpoint's benchmark: `python -m bench --scale tiny|S|L` (docs/performance.md)."""
