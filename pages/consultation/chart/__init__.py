"""The doctor's chart of one visit (``page``), one module per panel: the patient and their history (``header``),
the record (``record``), orders and results (``orders``), the prescription (``prescription``), the follow-up
(``follow_up``) and finishing (``finish``). ``visit`` holds what they share: the open visit and its latest read."""
