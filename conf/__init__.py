"""Hydra configs for cnnlab, shipped as the package `cnnlab.conf`."""
