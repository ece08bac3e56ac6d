import io
import warnings

import pytest

from ledgerlite import Ledger, Money, Transaction
from ledgerlite.csvio import write_csv
from ledgerlite.report import balance_report


def ledger():
    return Ledger([Transaction("2024-01-02", "cash", Money("2", "EUR")), Transaction("2024-01-01", "cash", Money("1", "EUR"))])


def test_entries_lists_in_date_order():
    assert [t.date for t in ledger().entries()] == ["2024-01-01", "2024-01-02"]


def test_transactions_is_a_deprecated_alias():
    with pytest.warns(DeprecationWarning):
        assert ledger().transactions("cash") == ledger().entries("cash")


def test_package_never_calls_the_deprecated_name():
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        balance_report(ledger())
        write_csv(ledger(), io.StringIO())
        ledger().balance("cash")
