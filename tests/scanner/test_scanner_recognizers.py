"""Recognizers: formats, checksums, look-arounds next to Chinese text, offsets, context."""

from __future__ import annotations

import pyarrow as pa
import pytest
from faker import Faker

from profileguard.collect.recognizers import default_recognizers, normalize_text
from profileguard.collect.scanner import scan_column

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def make_id(first17: str) -> str:
    """Test oracle for GB 11643, written independently of the library code."""
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return first17 + "10X98765432"[total % 11]


def make_card(body: str) -> str:
    """Append the Luhn digit (test oracle)."""
    digits = [int(c) for c in body]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


def found(text: str, column: str = "") -> list[tuple[str, str]]:
    """(type, matched original text) of every finding in one cell."""
    matches, _ = scan_column([text], column)
    return [(m.type, text[m.start:m.end]) for m in matches]


def types(text: str, column: str = "") -> set[str]:
    return {t for t, _ in found(text, column)}


# -- resident id ---------------------------------------------------------------------------

def test_faker_resident_ids_are_all_recognized() -> None:
    fake = Faker("zh_CN")
    Faker.seed(7)
    ids = [fake.ssn() for _ in range(300)]
    matches, _ = scan_column(ids, "身份证号")
    assert sorted({m.row for m in matches if m.type == "CN_RESIDENT_ID"}) == list(range(300))


def test_self_computed_resident_id_with_x_check_character_is_recognized() -> None:
    # search a sequence number whose check character is X
    rid = next(make_id(f"11010519491231{n:03d}") for n in range(1000)
               if make_id(f"11010519491231{n:03d}").endswith("X"))
    assert found(f"证件{rid}。") == [("CN_RESIDENT_ID", rid)]
    assert found(f"证件{rid.lower()[:-1]}x") == [("CN_RESIDENT_ID", rid[:-1] + "x")]


def test_resident_id_with_wrong_check_character_is_rejected() -> None:
    rid = make_id("11010519900307451")
    wrong = rid[:-1] + ("0" if rid[-1] != "0" else "1")
    assert "CN_RESIDENT_ID" not in types(wrong, "id_card")


def test_resident_id_with_impossible_birth_date_is_rejected() -> None:
    assert "CN_RESIDENT_ID" not in types(make_id("11010519900230451"))  # 30 February
    assert "CN_RESIDENT_ID" in types(make_id("11010520000229451"))  # leap day 2000


def test_resident_id_with_unknown_province_code_is_rejected() -> None:
    assert "CN_RESIDENT_ID" not in types(make_id("99010519900307451"))
    assert "CN_RESIDENT_ID" not in types(make_id("20010519900307451"))


def test_resident_id_inside_longer_digit_run_is_not_taken() -> None:
    rid = make_id("11010519900307451")
    assert "CN_RESIDENT_ID" not in types("9" + rid)
    assert "CN_RESIDENT_ID" not in types(rid + "7")


# -- mobile ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "text, expected",
    [
        ("13812345678", "13812345678"),
        ("+86 13812345678", "+86 13812345678"),
        ("+8613812345678", "+8613812345678"),
        ("+86-138-1234-5678", "+86-138-1234-5678"),
        ("008613812345678", "008613812345678"),
        ("(+86)13812345678", "(+86)13812345678"),
        ("138 1234 5678", "138 1234 5678"),
        ("138-1234-5678", "138-1234-5678"),
        ("１３８１２３４５６７８", "１３８１２３４５６７８"),
        ("电话13812345678。", "13812345678"),
        ("手机：19912345678，谢谢", "19912345678"),
    ],
)
def test_every_mobile_format_is_found_with_exact_span(text: str, expected: str) -> None:
    assert ("CN_MOBILE", expected) in found(text)


@pytest.mark.parametrize("text", ["12812345678", "1381234567", "138123456789", "10012345678"])
def test_numbers_that_are_not_mainland_mobiles_are_not_flagged(text: str) -> None:
    assert "CN_MOBILE" not in types(text)


def test_mixed_separators_are_not_one_mobile() -> None:
    assert "CN_MOBILE" not in types("138 1234-5678")


# -- bank card ------------------------------------------------------------------------------

@pytest.mark.parametrize("body", ["622202123456789012", "62220212345678901", "621700123456789",
                                  "411111111111111", "540012345678901", "222100123456789",
                                  "353012345678901"])
def test_luhn_valid_cards_with_scheme_prefix_are_found(body: str) -> None:
    card = make_card(body)
    assert found(f"卡号{card}，") == [("BANK_CARD", card)]


def test_nineteen_digit_unionpay_card_is_found() -> None:
    card = make_card("622848001234567890")
    assert len(card) == 19
    assert found(f"退款到{card}。") == [("BANK_CARD", card)]


def test_luhn_invalid_card_is_rejected() -> None:
    card = make_card("622202123456789012")
    bad = card[:-1] + str((int(card[-1]) + 1) % 10)
    assert "BANK_CARD" not in types(f"卡号{bad}")


def test_luhn_valid_number_without_scheme_prefix_is_rejected() -> None:
    assert "BANK_CARD" not in types(make_card("900012345678901"))
    assert "BANK_CARD" not in types(make_card("4111111111111"))  # Visa prefix, 14 digits


def test_amex_fifteen_digits_and_grouped_cards_are_found() -> None:
    amex = make_card("37828224631000")
    assert found(amex) == [("BANK_CARD", amex)]
    card = make_card("622202123456789")
    grouped = " ".join(card[i:i + 4] for i in range(0, 16, 4))
    assert found(f"卡号：{grouped}") == [("BANK_CARD", grouped)]


def test_card_touching_chinese_characters_has_correct_offsets() -> None:
    card = make_card("622202123456789012")
    text = f"卡号{card}，电话13812345678。"
    matches, _ = scan_column([text])
    spans = {(m.type, m.start, m.end) for m in matches}
    assert spans == {("BANK_CARD", 2, 21), ("CN_MOBILE", 24, 35)}


# -- negatives: order numbers, timestamps, tracking numbers --------------------------------

@pytest.mark.parametrize("text", ["202401011234567890", "20240101123045", "订单号202405201314520000",
                                  "下单时间20240101123045", "SF1234567890123", "运单号773123456789012"])
def test_order_numbers_timestamps_and_tracking_numbers_are_not_flagged(text: str) -> None:
    assert found(text) == []
    assert found(text, "order_no") == []


def test_luhn_valid_unionpay_shaped_number_in_order_column_is_not_a_card() -> None:
    number = make_card("62202401011234567")
    assert "BANK_CARD" in types(number)
    assert "BANK_CARD" not in types(number, "order_id")
    assert "BANK_CARD" not in types(f"订单号{number}")


# -- email ----------------------------------------------------------------------------------

def test_email_touching_chinese_characters_ends_at_the_address() -> None:
    assert found("邮箱abc@example.com联系") == [("EMAIL", "abc@example.com")]
    assert found("请发到li.na+shop@mail.example.cn，谢谢") == [("EMAIL", "li.na+shop@mail.example.cn")]


def test_malformed_emails_are_not_flagged() -> None:
    assert "EMAIL" not in types("abc@localhost")
    assert "EMAIL" not in types("a..b@example.com")
    assert "EMAIL" not in types("@example.com")


# -- ip -------------------------------------------------------------------------------------

@pytest.mark.parametrize("ip", ["::1", "2001:db8::ff00:42:8329", "fe80::1%eth0",
                                "2001:0db8:85a3:0000:0000:8a2e:0370:7334", "::ffff:192.0.2.1",
                                "192.168.1.1", "8.8.8.8"])
def test_ip_addresses_in_all_forms_are_found(ip: str) -> None:
    assert found(f"登录IP {ip}，") == [("IP_ADDRESS", ip)]
    assert found(ip, "client_ip") == [("IP_ADDRESS", ip)]


@pytest.mark.parametrize("text", ["999.1.1.1", "12:30:45", "std::vector", "00:1A:2B:3C:4D:5E",
                                  "1.2.3.4.5"])
def test_non_addresses_are_not_ips(text: str) -> None:
    assert "IP_ADDRESS" not in types(text)


# -- geo, address, name, plate, passport ---------------------------------------------------

def test_coordinate_pair_in_text_and_coordinate_columns() -> None:
    assert found("定位39.904211,116.407395到了") == [("GEO_COORDINATE", "39.904211,116.407395")]
    assert found("39.9042°N, 116.4074°E") == [("GEO_COORDINATE", "39.9042°N, 116.4074°E")]
    assert found("39.904211", "lat") == [("GEO_COORDINATE", "39.904211")]
    assert found("116.407395", "经度") == [("GEO_COORDINATE", "116.407395")]
    assert found("116.407395", "price") == []
    assert found("116.407395", "latitude") == []  # out of range for a latitude
    assert found("95.123456,200.123456") == []


def test_address_with_divisions_road_and_number_is_found_without_lead_in() -> None:
    text = "请寄到广东省深圳市南山区科技园路88号3栋201室，谢谢"
    assert found(text) == [("CN_ADDRESS", "广东省深圳市南山区科技园路88号3栋201室")]
    assert types("我们店的地址在马路对面") == set()


def test_person_names_need_column_or_text_context() -> None:
    assert found("张三", "收货人") == [("PERSON_NAME", "张三")]
    assert found("欧阳娜娜", "consignee") == [("PERSON_NAME", "欧阳娜娜")]
    assert found("张三", "product_name") == []
    assert found("张三", "remark") == []
    assert found("姓名：王小明，电话13812345678") == [
        ("PERSON_NAME", "王小明"), ("CN_MOBILE", "13812345678")]


def test_licence_plates_ordinary_and_new_energy() -> None:
    assert found("车牌京A12345，") == [("CN_LICENSE_PLATE", "京A12345")]
    assert found("粤B·D12345") == [("CN_LICENSE_PLATE", "粤B·D12345")]
    assert found("沪A-12345D") == [("CN_LICENSE_PLATE", "沪A-12345D")]
    assert found("京A123456789") == []


def test_passport_numbers_and_their_context() -> None:
    assert found("护照号E12345678") == [("CN_PASSPORT", "E12345678")]
    assert found("EA1234567", "passport_no") == [("CN_PASSPORT", "EA1234567")]
    assert found("E123456789") == []
    assert found("E12345678", "sku") == []


# -- normalization, scores ------------------------------------------------------------------

def test_normalization_keeps_length_and_maps_full_width() -> None:
    text = "电话：１３８－１２３４－５６７８，㎡ﬁ"
    norm = normalize_text(text)
    assert len(norm) == len(text)
    assert "138-1234-5678" in norm
    assert norm.endswith("㎡ﬁ")  # NFKC would lengthen these: left as they are


def test_column_context_raises_and_negative_context_lowers_scores() -> None:
    plain, _ = scan_column(["13812345678"], "col", threshold=0.0)
    phone, _ = scan_column(["13812345678"], "收货人手机", threshold=0.0)
    order, _ = scan_column(["13812345678"], "order_id", threshold=0.0)
    assert order[0].score < plain[0].score < phone[0].score
    assert all(0.0 <= m.score <= 1.0 for m in plain + phone + order)


def test_every_recognizer_has_docstring_patterns_context_and_a_category() -> None:
    from profileguard.taxonomy import is_category

    for rec in default_recognizers():
        assert rec.__doc__ and type(rec).__module__ and rec.patterns
        assert rec.context, rec.entity
        assert is_category(rec.category), rec.category


def test_non_string_columns_are_scanned_as_text() -> None:
    matches, _ = scan_column(pa.array([13812345678, 42], pa.int64()), "phone")
    assert [(m.row, m.type, m.start, m.end) for m in matches] == [(0, "CN_MOBILE", 0, 11)]
