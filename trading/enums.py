"""FIX 4.4 enumerations shared by every layer (names, not FIX wire codes)."""

from enum import StrEnum


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"

    @property
    def sign(self) -> int:
        """Return +1 for a buy, -1 for a sell (the sign of the position change)."""
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> "Side":
        return Side.SELL if self is Side.BUY else Side.BUY


class OrdType(StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"


class TimeInForce(StrEnum):
    DAY = "DAY"
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"


class ExecType(StrEnum):
    """What an execution report says happened (FIX tag 150)."""

    NEW = "NEW"
    TRADE = "TRADE"
    CANCELED = "CANCELED"
    REPLACED = "REPLACED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    RESTATED = "RESTATED"


class SelfTradePrevention(StrEnum):
    """What a venue does when two orders of the same owner would trade (per the incoming order)."""

    NONE = "NONE"
    CANCEL_NEWEST = "CANCEL_NEWEST"
    CANCEL_OLDEST = "CANCEL_OLDEST"
    CANCEL_BOTH = "CANCEL_BOTH"
    DECREMENT = "DECREMENT"


class Peg(StrEnum):
    """The NBBO reference a dark order is pegged to: NEAR is the bid for a buy, FAR the ask."""

    MID = "MID"
    NEAR = "NEAR"
    FAR = "FAR"


class Liquidity(StrEnum):
    """Whether a fill added or removed liquidity (FIX tag 851)."""

    ADDED = "ADDED"
    REMOVED = "REMOVED"


class AssetClass(StrEnum):
    EQUITY = "EQUITY"
    OPTION = "OPTION"


class PutCall(StrEnum):
    PUT = "PUT"
    CALL = "CALL"


class VenueKind(StrEnum):
    LIT = "LIT"
    DARK = "DARK"
    RFQ_DEALER = "RFQ_DEALER"


class Urgency(StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
