"""Consultation: the doctor's worklist (``worklist``) and the chart of a visit (``chart``), with their dialogs."""
