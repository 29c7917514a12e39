"""I/O grouped by system (AWS, trackers, evidence, reports) and the pure decisions the flows make."""
