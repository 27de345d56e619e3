"""The smart order router's pure core: what it sees (market), how it rates venues (scoring), what it decides (policy)."""
