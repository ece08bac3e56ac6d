import io

from ledgerlite import Money
from ledgerlite.csvio import read_csv

CSV = "date,account,amount,currency,memo\n2024-01-01,cash,12.50,EUR,lunch\n"


def test_read_csv():
    ledger = read_csv(io.StringIO(CSV))
    assert ledger.balance("cash") == Money("12.50", "EUR")


from ledgerlite import Ledger, Transaction  # noqa: E402
from ledgerlite.csvio import write_csv  # noqa: E402


def sample():
    ledger = Ledger()
    ledger.add(Transaction("2024-01-05", "cash", Money("-3.5", "eur"), 'coffee, "large"'))
    ledger.add(Transaction("2024-01-01", "bank", Money("100", "EUR"), "salary"))
    return ledger


def test_write_csv_exact_text():
    out = io.StringIO()
    write_csv(sample(), out)
    assert out.getvalue() == (
        "date,account,amount,currency,memo\n"
        "2024-01-01,bank,100.00,EUR,salary\n"
        '2024-01-05,cash,-3.50,EUR,"coffee, ""large"""\n'
    )


def test_write_csv_round_trips():
    out = io.StringIO()
    write_csv(sample(), out)
    assert read_csv(io.StringIO(out.getvalue())).entries() == sample().entries()
