"""The one-command demo: the simulator, Home Assistant with this integration set up on it, and a dashboard.

``scripts/demo`` runs ``python -m demo.run``; ``tests/browser`` and ``demo/screenshots.py`` reuse the same parts.
"""
