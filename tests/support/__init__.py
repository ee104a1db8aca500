"""What tests share: fixtures' helpers, drivers, servers. No test imports another test module."""
