"""Built-in executors, run by `colonies executor start`: `shell` (allowed commands) and `python`
(functions from listed modules). `runtime` runs either: parallel work, registration kept alive,
a clean stop."""
