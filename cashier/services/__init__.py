"""Use cases, one transaction each: the only thing screens call."""
