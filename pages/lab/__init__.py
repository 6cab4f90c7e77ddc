"""Lab & imaging: the technicians' live worklist per station (lab, imaging, procedures): take an order, record the
result as text and values, upload images or PDFs, complete it (the ordering doctor's chart shows it at once), and
send the patient back to the doctor.

``worklist``: the page and its worklist panel; ``dialogs``: the result of one order."""
