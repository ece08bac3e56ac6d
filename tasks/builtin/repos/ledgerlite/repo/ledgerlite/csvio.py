"""CSV import and export: columns date,account,amount,currency,memo."""

from __future__ import annotations

import csv
from typing import IO

from ledgerlite.ledger import Ledger, Transaction
from ledgerlite.money import Money

COLUMNS = ["date", "account", "amount", "currency", "memo"]


def read_csv(file: IO[str]) -> Ledger:
    ledger = Ledger()
    for row in csv.DictReader(file):
        ledger.add(Transaction(row["date"], row["account"], Money(row["amount"], row["currency"]), row["memo"]))
    return ledger


def write_csv(ledger: Ledger, file: IO[str]) -> None:
    """Write every transaction in date order with a header row; `read_csv` reads it back."""
    writer = csv.writer(file, lineterminator="\n")
    writer.writerow(COLUMNS)
    for entry in ledger.entries():
        writer.writerow([entry.date, entry.account, f"{entry.amount.amount:.2f}", entry.amount.currency, entry.memo])
