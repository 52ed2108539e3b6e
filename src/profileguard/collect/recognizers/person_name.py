"""PERSON_NAME: Chinese personal names, only where the context says a name is meant.

Format: one of the common surnames (single, e.g. 王 李 张, or compound, e.g. 欧阳 司马)
followed by one or two given-name characters. Two or three Chinese characters are far too
common to flag on their own, so a name is reported only

* as the whole cell of a column whose name says person name (``name``, ``姓名``,
  ``收货人``, ``consignee``, ``contact_name`` …, but not ``product_name`` or ``shop_name``), or
* in text right after a cue such as ``姓名：``, ``收货人``, ``联系人:``, ``先生/女士`` titles
  being excluded from the name.

Surname list: the most frequent Chinese surnames (Ministry of Public Security 2020
ranking, about the top 400) plus common compound surnames.
"""

from __future__ import annotations

import re
from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from profileguard.collect.recognizers.base import Match, Pattern, Recognizer, has_context

__all__ = ["PersonNameRecognizer"]

_SINGLE = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏"
    "魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚"
    "邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左"
    "柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶"
    "解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬"
    "边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
    # less frequent (ranks ~200–400)
    "萧傅阎赖洪官封谈匡鞠惠荆乐冀郁胥南班储原栗燕楚鄢劳谌奚皮粟冼蔺楼盘满闻位厉伊仝区郜海阚花权"
    "强帅屠豆朴盖练廉禹井祖漆巴丰支卿国狄平计索宣晋相初门云容敬来扈晁芮都普阙浦戈伏鹿薄邸雍辜羊"
    "阿乌母裘亓修邰赫杭况那宿鲜印逯隆茹诸战慕危玉银亢嵇公哈湛宾戎勾茅利呼居揭干但尉冶斯元束檀衣"
    "信展阴昝智幸奉植衡富尧闭由"
)
_COMPOUND = ("欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙",
             "宇文", "司徒", "夏侯", "轩辕", "令狐", "端木", "南宫", "独孤", "百里", "呼延")
_SURNAME = "(?:" + "|".join(_COMPOUND) + f"|[{_SINGLE}])"
_HAN = "[\u4e00-\u9fff]"
_GIVEN = _HAN + "{1,2}?"
_NEXT_WORDS = ("电话", "手机", "地址", "身份", "证件", "先生", "女士", "小姐", "联系", "邮箱", "卡号",
               "银行", "车牌", "护照", "定位", "坐标", "位置", "来自", "停车", "登录", "退款", "请",
               "寄", "送", "收", "发", "的", "在", "和", "已", "要", "说", "是")
#: a name ends at a non-Chinese character, the end, or a word that commonly follows a name
_AFTER = "(?=$|[^\u4e00-\u9fff]|" + "|".join(_NEXT_WORDS) + ")"
_CUE = r"(?:姓名|名字|收货人|收件人|联系人|持卡人|户主|客户|consignee|name)\s*[:：]?\s*"
_CELL = re.compile(rf"^\s*(?P<v>{_SURNAME}{_HAN}{{1,2}})\s*$")

_COLUMN_WORDS = ("name", "姓名", "收货人", "收件人", "联系人", "consignee", "receiver",
                 "recipient", "持卡人", "cardholder", "真实姓名", "realname", "fullname")
_NOT_PERSON = ("product", "goods", "item", "sku", "shop", "store", "brand", "file", "category",
               "商品", "店铺", "品牌", "类目", "文件", "user_name", "username", "nick", "昵称")


class PersonNameRecognizer(Recognizer):
    """Chinese personal name (姓名), with column or text context only."""

    entity = "PERSON_NAME"
    category = "user.name"
    prefilter = r"姓名|名字|收货人|收件人|联系人|持卡人|户主|客户|consignee|name"
    patterns: ClassVar[tuple[Pattern, ...]] = (
        Pattern("after_cue", rf"{_CUE}(?P<v>{_SURNAME}{_GIVEN}){_AFTER}", 0.75),
    )
    context = ("姓名", "收货人", "联系人", "name")

    def column_adjustment(self, column: str) -> float:
        return 0.0

    def text_adjustment(self, text: str, start: int) -> float:
        return 0.0

    def analyze_column(self, texts: pa.Array, column: str = "") -> list[Match]:
        if has_context(column, _NOT_PERSON) or not has_context(column, _COLUMN_WORDS):
            return super().analyze_column(texts, column)
        pattern = rf"^\s*{_SURNAME}{_HAN}{{1,2}}\s*$"
        hit = pc.fill_null(pc.match_substring_regex(texts, pattern), False)
        rows = np.flatnonzero(hit.to_numpy(zero_copy_only=False))
        out: list[Match] = []
        if rows.size:
            cells = pc.take(texts, pa.array(rows)).to_pylist()
            for row, text in zip(rows.tolist(), cells, strict=True):
                m = _CELL.match(text)
                if m:
                    out.append(Match(row, m.start("v"), m.end("v"), self.entity, 0.85))
        return out + super().analyze_column(texts, column)

    def mask(self, value: str) -> str:
        """``张*`` / ``欧阳**``: surname kept."""
        keep = 2 if value[:2] in _COMPOUND else 1
        return value[:keep] + "*" * (len(value) - keep)
