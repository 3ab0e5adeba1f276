"""gateway: the thin HTTP front for the public, staff, referrers and other systems."""
