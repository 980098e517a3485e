"""Watchers: turn changes seen on a source into buffered events (DESIGN.md flow 3)."""
