"""Who pays what: the insurer's part, the patient's part, and how it is tendered."""
