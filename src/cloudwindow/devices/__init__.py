"""Kiosk devices seen from the server: the agent's device commands relayed to the
session's kiosk (which runs them on its local bridge, docs/bridge.md) and the kiosks'
device health — docs/protocol.md §Devices."""
