"""Devices, each behind one small interface with a real driver and a test double."""
