"""CloudWindow (云窗口): remote government service cloud windows."""

__version__ = "0.1.0"
