"""Sheet reading: header found by content, Excel row numbers, 'missing' cells."""

import pytest

from dataset_fixtures import write_xlsx
from mer_lab.datasets import DatasetError
from mer_lab.datasets._sheets import find_header, norm, parse_int, read_rows, read_table


def test_norm_matches_spellings():
    assert norm("Onset Frame") == norm("OnsetFrame") == norm("onset_frame") == "onsetframe"
    assert norm(None) == ""


@pytest.mark.parametrize("value, expected", [
    (46, 46), (46.0, 46), ("46", 46), (" 46 ", 46), ("46.0", 46),
    ("/", None), ("", None), (None, None), ("-", None), (float("nan"), None), (46.5, None), (True, None),
])
def test_parse_int(value, expected):
    assert parse_int(value) == expected


def test_header_found_by_content_with_excel_rows(tmp_path):
    rows = [["Title"], [None], ["notes about the coding"],
            ["Subject", "Filename", None, "Onset Frame", "Apex Frame", "Offset Frame", "Estimated Emotion"],
            [6, "006_1_2", None, 10, "/", 20, "Happiness"],
            [None],
            [7, "007_1_1", None, 5, 6, 9, "Anger"]]
    path = write_xlsx(tmp_path / "s.xlsx", {"any name": rows})
    table, header_row = read_table(path)
    assert header_row == 4
    assert list(table["_row"]) == [5, 7]          # the blank row 6 is not a sample
    assert list(table["filename"]) == ["006_1_2", "007_1_1"]
    assert table.loc[0, "apex"] == "/"
    assert "_blank2" in table.columns             # blank header cells keep their place
    assert table.loc[1, "emotion"] == "Anger"


def test_header_missing_names_the_file(tmp_path):
    path = write_xlsx(tmp_path / "bad.xlsx", {"Sheet1": [["a", "b"], [1, 2]]})
    with pytest.raises(DatasetError, match="header row in .*bad.xlsx"):
        read_table(path)


def test_sheet_by_name_ignores_case_and_spaces(tmp_path):
    path = write_xlsx(tmp_path / "w.xlsx", {"first": [[1]], "Naming Rule 1": [["x", 15, 1]]})
    assert read_rows(path, sheet="naming rule1") == [["x", 15, 1]]
    with pytest.raises(DatasetError, match="no sheet named 'naming rule2'"):
        read_rows(path, sheet="naming rule2")


def test_old_xls_is_refused_with_advice(tmp_path):
    path = tmp_path / "CASME2_label_Ver_2.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(DatasetError, match="save it as .xlsx"):
        read_rows(path)


def test_csv_rows(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("Subject,Filename,Onset\n1,a,3\n")
    assert find_header(read_rows(path)) == 0
