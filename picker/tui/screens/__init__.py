"""Screens of the picker app."""
