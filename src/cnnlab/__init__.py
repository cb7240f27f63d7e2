"""cnnlab: configuration-driven CNN experiments."""
