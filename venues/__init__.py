"""Market connectivity: venue adapters, the simulated market, market data, the gateway process."""
