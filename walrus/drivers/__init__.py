"""Drivers: each serves the Driver protocol (:mod:`~walrus.drivers.protocol`)."""
