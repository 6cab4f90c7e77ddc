"""Administration: the clinic at a glance, staff accounts, doctors and their schedules, the catalog, the clinic's
settings, the waiting-room displays, the audit log, the dashboard and backups.

One module per screen (``home``, ``staff``, ``doctors``, ``doctor``, ``catalog``, ``settings``, ``displays``,
``audit``, ``dashboard``, ``backup``); the bigger screens keep their panels beside them (``doctor_schedule``,
``catalog_forms``, ``settings_panels``); the dialogs are in ``dialogs``, small shared parts in ``parts``."""
