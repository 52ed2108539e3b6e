"""Item categories and the Chinese product words the demo builds titles and queries from.

Faker has no product vocabulary for zh_CN, so each category keeps a short list of nouns
with a typical pack or spec, plus the share of the catalogue and the median list price
(yuan). The category keys are the contract with the demo manifests and tag SQL.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Category:
    """One item category of the demo shop."""

    key: str
    share: float
    median_price: float
    price_spread: float
    nouns: tuple[tuple[str, str], ...]


CATEGORIES: tuple[Category, ...] = (
    Category(
        "baby_mother",
        0.08,
        160.0,
        0.7,
        (
            ("婴儿奶粉", "3段 800g"),
            ("纸尿裤", "L码 54片"),
            ("婴儿湿巾", "80抽×10包"),
            ("孕妇装", "春夏款"),
            ("吸奶器", "电动双边"),
            ("婴儿推车", "可坐可躺"),
            ("奶瓶", "宽口径 240ml"),
            ("孕妇叶酸片", "90片"),
            ("儿童安全座椅", "ISOFIX"),
            ("婴儿辅食米粉", "6月龄+"),
            ("防溢乳垫", "100片"),
            ("待产包", "全套"),
        ),
    ),
    Category(
        "health",
        0.07,
        90.0,
        0.8,
        (
            ("维生素C片", "100片"),
            ("钙片", "60粒"),
            ("益生菌", "30袋"),
            ("电子血压计", "上臂式"),
            ("血糖仪", "含试纸50片"),
            ("鱼油软胶囊", "120粒"),
            ("蛋白粉", "400g"),
            ("医用口罩", "50只"),
            ("体温计", "电子款"),
            ("护腰带", "加宽"),
            ("降压茶", "30包"),
            ("助听器", "隐形款"),
        ),
    ),
    Category(
        "books",
        0.10,
        45.0,
        0.5,
        (
            ("长篇小说", "精装"),
            ("儿童绘本", "全10册"),
            ("Python编程入门", "第3版"),
            ("考研英语真题", "2027版"),
            ("中国通史", "全4册"),
            ("心理学与生活", "平装"),
            ("经济学原理", "第8版"),
            ("漫画全集", "1-5卷"),
            ("钢笔字帖", "楷书"),
            ("新华字典", "第12版"),
            ("育儿百科", "修订版"),
            ("烹饪大全", "彩图版"),
        ),
    ),
    Category(
        "electronics",
        0.12,
        900.0,
        1.0,
        (
            ("智能手机", "8GB+256GB"),
            ("蓝牙耳机", "主动降噪"),
            ("笔记本电脑", "16英寸"),
            ("平板电脑", "11英寸"),
            ("智能手表", "NFC版"),
            ("充电宝", "20000mAh"),
            ("机械键盘", "青轴"),
            ("显示器", "27英寸 2K"),
            ("无线路由器", "WiFi7"),
            ("数据线", "Type-C 1m"),
            ("投影仪", "1080P"),
            ("电子阅读器", "7英寸"),
        ),
    ),
    Category(
        "beauty",
        0.12,
        180.0,
        0.7,
        (
            ("补水面膜", "25片"),
            ("精华液", "50ml"),
            ("口红", "哑光"),
            ("防晒霜", "SPF50+"),
            ("洗面奶", "氨基酸 120g"),
            ("粉底液", "30ml"),
            ("眼霜", "15g"),
            ("香水", "淡香 50ml"),
            ("卸妆水", "500ml"),
            ("爽肤水", "200ml"),
            ("眼影盘", "12色"),
            ("身体乳", "400ml"),
        ),
    ),
    Category(
        "groceries",
        0.18,
        35.0,
        0.6,
        (
            ("东北大米", "10kg"),
            ("花生油", "5L"),
            ("纯牛奶", "250ml×24盒"),
            ("坚果礼盒", "1.5kg"),
            ("咖啡豆", "500g"),
            ("龙井茶叶", "250g"),
            ("方便面", "5连包"),
            ("矿泉水", "550ml×24瓶"),
            ("零食大礼包", "40包"),
            ("挂面", "1kg×3"),
            ("鸡蛋", "30枚"),
            ("酸奶", "200g×12"),
        ),
    ),
    Category(
        "apparel",
        0.16,
        150.0,
        0.7,
        (
            ("连衣裙", "雪纺"),
            ("羽绒服", "白鸭绒"),
            ("运动鞋", "透气"),
            ("牛仔裤", "直筒"),
            ("卫衣", "加绒"),
            ("T恤", "纯棉"),
            ("衬衫", "免烫"),
            ("冲锋衣", "三合一"),
            ("船袜", "10双装"),
            ("帆布鞋", "经典款"),
            ("羊毛衫", "圆领"),
            ("睡衣套装", "莫代尔"),
        ),
    ),
    Category(
        "home",
        0.14,
        120.0,
        0.8,
        (
            ("床上四件套", "1.8m"),
            ("乳胶枕", "一对"),
            ("收纳箱", "3个装"),
            ("不粘锅", "28cm"),
            ("保温杯", "500ml"),
            ("旋转拖把", "带桶"),
            ("护眼台灯", "LED"),
            ("纯棉毛巾", "4条"),
            ("电饭煲", "4L"),
            ("空气炸锅", "5L"),
            ("四季被", "200×230"),
            ("垃圾袋", "100只"),
        ),
    ),
    Category(
        "adult",
        0.03,
        90.0,
        0.6,
        (
            ("安全套", "超薄 10只"),
            ("润滑液", "100ml"),
            ("情趣内衣", "均码"),
            ("计生用品组合", "礼盒"),
            ("延时喷剂", "10ml"),
            ("验孕棒", "5支"),
        ),
    ),
)

CATEGORY_KEYS: tuple[str, ...] = tuple(c.key for c in CATEGORIES)

TITLE_MODIFIERS: tuple[str, ...] = (
    "2026新款",
    "官方旗舰",
    "正品",
    "大容量",
    "家用",
    "便携",
    "加厚",
    "限量款",
    "经典",
    "升级版",
    "进口",
    "轻薄",
    "国货",
    "热销",
    "礼盒装",
)

QUERY_PATTERNS: tuple[str, ...] = (
    "{noun}",
    "{noun}",
    "{noun} {mod}",
    "{brand}{noun}",
    "{noun}推荐",
    "{noun} 便宜",
    "{noun}哪个牌子好",
    "{mod}{noun}",
    "{noun} {spec}",
)


def category_index(key: str) -> int:
    """Position of a category key in :data:`CATEGORIES`."""
    return CATEGORY_KEYS.index(key)
