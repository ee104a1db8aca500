"""The national 医药机构接口: protocol, client, journal, recovery."""
