"""Checkers for lesson 04."""

from __future__ import annotations

__all__: list[str] = []
