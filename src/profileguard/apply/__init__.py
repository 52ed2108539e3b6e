"""Applications of the profile — recommendations, search, audiences, campaigns, price checks
and product insight — each passing through the guards in :mod:`profileguard.apply.guards`
before anything leaves the system."""
