"""Seawall."""
