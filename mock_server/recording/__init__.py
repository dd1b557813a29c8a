"""Record and replay: HAR files, the recording proxy, and the replayer (a Respond, like forward)."""
