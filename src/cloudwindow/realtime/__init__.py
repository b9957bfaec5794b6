"""Realtime gateway: one authenticated WebSocket per client (docs/protocol.md)."""
