"""Signing and verification of messages exchanged between security servers."""
