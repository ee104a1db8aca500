"""The insurer's wire protocol: codes, JSON, envelope, answers, requests."""
