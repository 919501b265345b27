"""lago-tui: browse and create AI-agent sessions stored in a Lago-compatible event journal."""

__version__ = "0.1.0"
