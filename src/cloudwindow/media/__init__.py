"""Media sessions (video calls): signaling, ICE/TURN, time to first frame (issue 4)."""
