"""Pure rules, no I/O: money, tender."""
