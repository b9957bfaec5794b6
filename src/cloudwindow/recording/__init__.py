"""Recording for audit (全程录音录像): chunked, resumable uploads from the agent's browser,
a SHA-256 hash chain over the chunks, assembly, playback, flags and retention."""
