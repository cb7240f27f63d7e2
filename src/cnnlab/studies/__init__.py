"""Studies built from many cnnlab runs (not imported by the library itself)."""
