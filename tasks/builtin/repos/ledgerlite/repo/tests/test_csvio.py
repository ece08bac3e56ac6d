import io

from ledgerlite import Money
from ledgerlite.csvio import read_csv

CSV = "date,account,amount,currency,memo\n2024-01-01,cash,12.50,EUR,lunch\n"


def test_read_csv():
    ledger = read_csv(io.StringIO(CSV))
    assert ledger.balance("cash") == Money("12.50", "EUR")
