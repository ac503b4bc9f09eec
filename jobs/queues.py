"""Queue names, by urgency. Workers listen to them in this order."""
HIGH = "high"        # codes a person is waiting for
DEFAULT = "default"  # single emails
LOW = "low"          # bulk sends

ALL = (HIGH, DEFAULT, LOW)
