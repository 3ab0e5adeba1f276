"""registration: registrations, consent, contact details, referrals and cohorts."""
