"""Widgets: the virtual table and the pieces of the session screens."""
