"""The domain: what a change means (process transitions, submissions, crons, generators,
blueprints, executors leaving). Handlers call it; it calls the store's named operations and
raises the errors of `errors`, which the RPC edge maps to statuses."""
