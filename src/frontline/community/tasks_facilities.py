"""Periodic sweeps of the community app (registered with the worker when imported)."""
