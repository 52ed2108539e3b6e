"""The pages' words in Chinese and English. A page picks ``?lang=`` or the ``pg_lang``
cookie, else the browser's Accept-Language, else Chinese (the demo shop is in China)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request

LANGS = ("zh", "en")
COOKIE = "pg_lang"

WORDS: dict[str, tuple[str, str]] = {
    "privacy_center": ("隐私中心", "Privacy center"),
    "switch_lang": ("English", "中文"),
    "signed_in_as": ("当前登录", "Signed in as"),
    "sign_out": ("退出登录", "Sign out"),
    "sign_in": ("登录", "Sign in"),
    "login_help": ("请使用发送给您的登录链接，或在此粘贴登录令牌。",
                   "Use the login link you were sent, or paste your login token here."),
    "token": ("登录令牌", "Login token"),
    "skip": ("跳到主要内容", "Skip to main content"),
    "switches": ("个性化开关", "Personalization switches"),
    "stop_profiling": ("停止为我建立画像（一键关闭）", "Stop profiling me (一键关闭)"),
    "stop_profiling_help": ("关闭后不再为您计算或使用任何标签，推荐改为不针对个人特征的内容。",
                            "No tags are computed or used about you any more; recommendations "
                            "stop being based on you."),
    "non_personalized": ("不针对我个人特征的推荐", "Recommendations not based on me"),
    "non_personalized_help": ("只看热门与最新商品，不使用您的浏览和购买记录。",
                              "Only popular and recent items, without your browsing or "
                              "purchases."),
    "on": ("已开启", "On"), "off": ("已关闭", "Off"),
    "turn_on": ("开启", "Turn on"), "turn_off": ("关闭", "Turn off"),
    "my_tags": ("我的标签", "My tags"),
    "no_tags": ("目前没有关于您的标签。", "We hold no tags about you right now."),
    "profiling_stopped": ("您已停止画像：我们不再使用任何关于您的标签。",
                          "You stopped profiling: no tag about you is used."),
    "awaiting": ("个标签已停用，将在下次计算时从数据仓库删除。",
                 "tags are out of use and will be removed from the warehouse at the next "
                 "build."),
    "why": ("为什么", "Why"), "confidence": ("置信度", "Confidence"),
    "purpose": ("用途", "Purpose"), "fields": ("使用的数据", "Data used"),
    "valid_until": ("有效期至", "Valid until"),
    "correct": ("更正", "Correct"), "new_value": ("正确的值", "Correct value"),
    "delete_tag": ("删除此标签", "Delete this tag"),
    "recommendations": ("为您推荐", "Recommended for you"),
    "mode_personalized": ("个性化推荐（基于您的浏览和购买）",
                          "Personalized (based on your browsing and purchases)"),
    "mode_non_personalized": ("非个性化推荐（热门商品，不基于您）",
                              "Non-personalized (popular items, not based on you)"),
    "consents": ("我的同意", "My consents"),
    "consent_purposes": ("按用途的同意", "Consent per purpose"),
    "separate_consents": ("单独同意", "Separate consents"),
    "separate_help": ("向第三方提供或处理敏感信息需要您单独同意。",
                      "Giving data to a third party or processing sensitive data needs its "
                      "own consent."),
    "not_consent": ("以下处理不以同意为依据（例如履行合同），可要求删除或提出异议。",
                    "These do not rest on consent (e.g. the contract); you may object or ask "
                    "for deletion."),
    "granted": ("已同意", "Given"), "withdrawn": ("已撤回", "Withdrawn"),
    "refused": ("已拒绝", "Refused"), "not_given": ("未同意", "Not given"),
    "grant": ("同意", "Give consent"), "withdraw": ("撤回同意", "Withdraw"),
    "recipient": ("接收方", "Recipient"), "status": ("状态", "Status"),
    "my_data": ("我的数据", "My data"),
    "download": ("下载我的数据（JSON）", "Download my data (JSON)"),
    "delete_all": ("删除我的数据", "Delete my data"),
    "delete_confirm": ("我明白：删除后账户数据不可恢复（法律要求保存的订单记录除外）。",
                       "I understand: my data is erased and cannot be restored (except order "
                       "records the law requires to keep)."),
    "my_requests": ("我的申请", "My requests"),
    "no_requests": ("暂无申请。", "No requests yet."),
    "kind": ("类型", "Kind"), "received": ("提交时间", "Received"),
    "deadline": ("处理期限", "Deadline"),
    "complain": ("投诉", "Complain"),
    "complaint_kind": ("问题类型", "What is wrong"),
    "wrong_tag": ("标签有误", "A wrong tag"), "unfair_price": ("价格不公平", "An unfair price"),
    "unwanted_marketing": ("不想要的营销信息", "An unwanted marketing message"),
    "complaint_text": ("请描述问题", "Describe the problem"),
    "send": ("提交", "Send"),
    "done": ("已完成。", "Done."),
    "transparency": ("算法透明度说明", "Algorithm transparency"),
    "dashboard": ("合规看板", "Compliance dashboard"),
}


def pick(request: Request) -> str:
    q = request.query_params.get("lang")
    if q in LANGS:
        return q
    c = request.cookies.get(COOKIE)
    if c in LANGS:
        return c
    accept = request.headers.get("accept-language", "").lower()
    return "en" if accept.startswith("en") else "zh"


def translator(lang: str) -> Callable[[str], str]:
    i = 1 if lang == "en" else 0

    def t(key: str) -> str:
        pair = WORDS.get(key)
        return pair[i] if pair else key

    return t
