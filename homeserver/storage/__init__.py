"""SQLite storage: one store class per domain, all sharing one Database."""
