"""Reports: the figures first (plain data, SQL aggregates), rendering elsewhere. No UI."""
