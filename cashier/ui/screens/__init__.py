"""Textual screens: thin, they turn keys into calls on the core and results into widgets."""
