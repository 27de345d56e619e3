"""Names shared by the simulator and its settings: market regimes and session states."""

from enum import StrEnum


class Regime(StrEnum):
    """How fair value moves: CALM at the set volatility, VOLATILE at a multiple, TRENDING with a drift."""

    CALM = "CALM"
    VOLATILE = "VOLATILE"
    TRENDING = "TRENDING"


class SessionState(StrEnum):
    OPEN = "OPEN"
    HALTED = "HALTED"
    CLOSED = "CLOSED"
