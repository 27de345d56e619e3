"""The OMS: system of record for instruments, portfolios, parent orders, fills and positions."""
