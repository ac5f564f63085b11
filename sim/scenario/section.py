"""The base of every scenario section: frozen, and strict about unknown keys.

A misspelt key is an error, never ignored; defaults are validated like given values.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)
