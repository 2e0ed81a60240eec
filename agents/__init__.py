"""Customer and brand behaviour rules, shared by the fast and the readable engine."""
