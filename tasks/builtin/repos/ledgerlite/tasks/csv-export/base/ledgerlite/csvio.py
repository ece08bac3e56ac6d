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
