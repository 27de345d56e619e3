"""The simulated market: pure Python, no Django; time and randomness are parameters."""
