"""Cashier: the live queue of visits to settle, the itemized invoice with discount, voucher and insurance, split
payments with change, receipts (print A4 / 80 mm or email), refunds and voids; the transaction history, the daily
close, each cashier's drawer count and close, and CSV exports.

``queue``: the cashier's page; ``invoice``: one invoice and its panels; ``dialogs``: payment, discount, insurance,
email, refund, void; ``transactions``: history, daily close and exports; ``drawer``: the cashier's count and close
of their day (and the administrator's reopening); ``downloads``: receipts, bills, close sheets and CSV files."""
