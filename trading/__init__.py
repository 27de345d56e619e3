"""The shared trading vocabulary: the language of markets, in FIX 4.4 terms.

Pure Python, no Django: every app (``oms``, ``ems``, ``router``, ``venues``) may
import it, and it imports none of them. It holds the enums (side, order type,
time in force, exec type), the order state machine, the Decimal helpers for
prices and quantities, and the wire messages (new order, execution report).
"""
