"""The EMS's pure core: strategy choice and schedules, no Django."""
