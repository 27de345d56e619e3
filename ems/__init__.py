"""The EMS: strategy selection, execution of parent orders through child orders, fills, blotter streaming."""
