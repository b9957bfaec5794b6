"""The kiosk peripheral bridge (外设桥): the local WebSocket service through which the
kiosk page uses the ID-card reader, signature pad, receipt printer and A4 printer.

The protocol is ``docs/bridge.md`` (a vendor's device service implements it); this
package is the reference implementation with simulated devices, run by
``cloudwindow bridge``: test ID cards from ``cloudwindow.sample.people``, printers that
write PDF files, a signature pad fed by pointer strokes, health toggled by a control
command or file.
"""
