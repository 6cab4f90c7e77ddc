"""Administration: the clinic at a glance, staff accounts, doctors and their schedules, the catalog, the clinic's
settings, the waiting-room displays, the audit log, the dashboard and backups. One module per screen; the dialogs
they share are in ``dialogs.py``."""
