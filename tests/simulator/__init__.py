"""Tests of the source simulator."""

from __future__ import annotations
