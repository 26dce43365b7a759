"""Test helpers shared by the test suites (not meant for production processes)."""
