"""Telegram update handlers, one module per audience, and the Persian UI texts."""
