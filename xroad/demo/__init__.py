"""The embedded demo instance: bootstrap its data directory and supervise its processes."""
