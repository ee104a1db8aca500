"""A sandbox insurer: a real HTTP server that answers the national 医药机构接口.

Its state (people, accounts, year-to-date accumulators, e-voucher codes,
visits, settlements) lives in its own SQLite file, apart from the cashier's
database, so that `cashier sandbox qr` and `cashier sandbox card` work
against a running sandbox and a restart keeps everything.
"""
