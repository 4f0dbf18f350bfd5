"""Checkers for lesson 05."""

from __future__ import annotations

__all__: list[str] = []
