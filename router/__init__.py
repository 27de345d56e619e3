"""The smart order router: where to send a slice. Pure policies in ``router.core``."""
