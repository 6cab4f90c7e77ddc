"""Reception: today's desk (find, register, check in, walk in), a patient's page, booking, the list of all
appointments, every queue of the day, and the email outbox. One module per screen; the dialogs they share live in
``dialogs.py``."""
