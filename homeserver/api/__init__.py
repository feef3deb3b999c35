"""Thin HTTP servlets: parse, authenticate, call a handler, render."""
