"""Property tests: arbitrary text never raises; findings always lie inside their cell."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from profileguard.collect.scanner import scan_column

CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x4FFF)
MIXED = st.text(alphabet=st.one_of(st.characters(), CJK, st.sampled_from("0123456789@.:-+ ，。")),
                max_size=80)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), MIXED), max_size=8), st.text(max_size=12))
def test_arbitrary_text_never_raises_and_spans_stay_in_the_cell(
    values: list[str | None], column: str
) -> None:
    matches, _ = scan_column(values, column)
    for m in matches:
        cell = values[m.row]
        assert cell is not None
        assert 0 <= m.start < m.end <= len(cell)
        assert 0.0 <= m.score <= 1.0


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=CJK, max_size=10), st.text(alphabet=CJK, max_size=10),
       st.sampled_from(["13812345678", "19987654321", "15000001111"]))
def test_a_mobile_between_chinese_characters_is_found_at_its_offsets(
    before: str, after: str, phone: str
) -> None:
    text = before + phone + after
    matches, _ = scan_column([text])
    assert ("CN_MOBILE", len(before), len(before) + 11) in {(m.type, m.start, m.end) for m in matches}
