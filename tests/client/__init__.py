"""Tests of the MTCTI-3 client library against the simulator."""
