"""Pharmacy: the live queue of prescriptions to dispense (first expiry first, partial, substitution with a note),
usage-instruction labels and the stock alerts; the inventory: goods in, adjustments with a reason, and the stock
ledger of a medicine (it adds up).

``dispensing``: the pharmacy's page and its panels; ``inventory``: the stock page; ``dialogs``: dispense, goods in,
ledger, adjust."""
