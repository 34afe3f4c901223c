"""Configuration: TOML → validated, frozen models (placeholder; being written)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ConnectorSettings(BaseModel):
    """Keys every ``[[connectors]]`` table has; connectors subclass it for their own keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    name: str
    enabled: bool = True
    interval: str = "5m"
    mailboxes: list[str] | str = []
