"""Reference data of the simulated world: provinces, cities, industries, products, names."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Province:
    code: str  # short code used in unit ids
    name: str  # 山东省
    short: str  # 山东
    cities: tuple[tuple[str, str], ...]  # (division code, city name)


PROVINCES: tuple[Province, ...] = (
    Province(
        "SD",
        "山东省",
        "山东",
        (
            ("370100", "济南"),
            ("370200", "青岛"),
            ("370300", "淄博"),
            ("370600", "烟台"),
            ("370700", "潍坊"),
            ("371300", "临沂"),
        ),
    ),
    Province(
        "JS",
        "江苏省",
        "江苏",
        (
            ("320100", "南京"),
            ("320200", "无锡"),
            ("320300", "徐州"),
            ("320400", "常州"),
            ("320500", "苏州"),
            ("320600", "南通"),
        ),
    ),
    Province(
        "ZJ",
        "浙江省",
        "浙江",
        (
            ("330100", "杭州"),
            ("330200", "宁波"),
            ("330300", "温州"),
            ("330400", "嘉兴"),
            ("330600", "绍兴"),
            ("330700", "金华"),
        ),
    ),
    Province(
        "GD",
        "广东省",
        "广东",
        (
            ("440100", "广州"),
            ("440300", "深圳"),
            ("440400", "珠海"),
            ("440500", "汕头"),
            ("440600", "佛山"),
            ("441900", "东莞"),
        ),
    ),
    Province(
        "HA",
        "河南省",
        "河南",
        (
            ("410100", "郑州"),
            ("410200", "开封"),
            ("410300", "洛阳"),
            ("410700", "新乡"),
            ("411300", "南阳"),
        ),
    ),
    Province(
        "SC",
        "四川省",
        "四川",
        (
            ("510100", "成都"),
            ("510600", "德阳"),
            ("510700", "绵阳"),
            ("511300", "南充"),
            ("511500", "宜宾"),
        ),
    ),
    Province(
        "HB",
        "湖北省",
        "湖北",
        (
            ("420100", "武汉"),
            ("420200", "黄石"),
            ("420500", "宜昌"),
            ("420600", "襄阳"),
            ("421000", "荆州"),
        ),
    ),
    Province(
        "HE",
        "河北省",
        "河北",
        (
            ("130100", "石家庄"),
            ("130200", "唐山"),
            ("130400", "邯郸"),
            ("130600", "保定"),
            ("131000", "廊坊"),
        ),
    ),
    Province(
        "FJ",
        "福建省",
        "福建",
        (
            ("350100", "福州"),
            ("350200", "厦门"),
            ("350300", "莆田"),
            ("350500", "泉州"),
            ("350600", "漳州"),
        ),
    ),
    Province(
        "SN",
        "陕西省",
        "陕西",
        (
            ("610100", "西安"),
            ("610300", "宝鸡"),
            ("610400", "咸阳"),
            ("610500", "渭南"),
            ("610800", "榆林"),
        ),
    ),
)

CITY_PROVINCE: dict[str, Province] = {code: p for p in PROVINCES for code, _ in p.cities}
CITY_NAME: dict[str, str] = {code: name for p in PROVINCES for code, name in p.cities}

INDUSTRIES: tuple[tuple[str, str], ...] = (
    ("GOV", "政府"),
    ("FIN", "金融"),
    ("TEL", "电信"),
    ("ENE", "能源"),
    ("EDU", "教育"),
    ("MED", "医疗"),
    ("MFG", "制造"),
    ("TRA", "交通"),
)
INDUSTRY_WEIGHTS = (0.22, 0.14, 0.08, 0.1, 0.12, 0.1, 0.16, 0.08)
TENDERING_INDUSTRIES = frozenset({"GOV", "FIN", "TEL", "ENE", "EDU", "MED", "TRA"})

BUSINESS_UNITS: tuple[tuple[str, str], ...] = (("INFO", "浪潮信息"), ("SOFT", "浪潮软件"))


@dataclass(frozen=True)
class ProductLine:
    code: str
    name: str
    bu: str
    median_amount: Decimal  # yuan, typical lead amount
    weight: float  # share of the BU's business


PRODUCT_LINES: tuple[ProductLine, ...] = (
    ProductLine("SRV", "通用服务器", "INFO", Decimal("1200000"), 0.40),
    ProductLine("STO", "存储", "INFO", Decimal("800000"), 0.25),
    ProductLine("AIS", "AI服务器", "INFO", Decimal("3000000"), 0.20),
    ProductLine("NET", "网络设备", "INFO", Decimal("400000"), 0.15),
    ProductLine("ERP", "ERP软件", "SOFT", Decimal("600000"), 0.30),
    ProductLine("CLD", "云服务", "SOFT", Decimal("900000"), 0.25),
    ProductLine("GOV", "政务软件", "SOFT", Decimal("1500000"), 0.30),
    ProductLine("SVC", "运维服务", "SOFT", Decimal("300000"), 0.15),
)
PRODUCT_LINE = {p.code: p for p in PRODUCT_LINES}
BU_PRODUCT_LINES = {bu: tuple(p for p in PRODUCT_LINES if p.bu == bu) for bu, _ in BUSINESS_UNITS}

# Account levels: canonical tier -> the CRM's name.
TIER_NAMES = {"STRATEGIC": "战略", "TOP": "TOP", "GENERAL": "一般", "NON_NAMED": "非指名"}
TIERS = ("STRATEGIC", "TOP", "GENERAL", "NON_NAMED")
TIER_WEIGHTS = (0.04, 0.12, 0.44, 0.40)  # share of customers
TIER_TARGET_WEIGHTS = (0.30, 0.28, 0.27, 0.15)  # share of the target

STAGES = ("需求识别", "立项", "商务推进", "招标", "中标")  # S1..S5
ST_OPEN, ST_PENDING, ST_ORDERED, ST_LOST, ST_CANCELLED = (
    "跟进中",
    "待下单",
    "已下单",
    "丢单",
    "取消",
)
INVALID_STAGES = ("意向", "待定")
INVALID_STATUSES = ("冻结", "审批中")

MEASURES = (("ORDER", "订货"), ("COLLECTION", "回款"))

COMPETITORS = {
    "INFO": ("华为", "新华三", "联想", "戴尔", "中科曙光", "超聚变", "宁畅"),
    "SOFT": ("用友", "金蝶", "东软", "华为云", "阿里云", "太极股份", "中软国际", "数字政通"),
}

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴孔汤"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建文辉力鹏宇浩凯俊峰晨欣怡佳琳雪梅志刚海波国庆红"
    "晓东亮飞斌玉兰婷宁博思远嘉怡子涵梓萱一鸣天宇新颖春燕秋月冬梅立新卫东振华永强"
)

BRANDS = (
    "华信",
    "恒泰",
    "东方",
    "金桥",
    "瑞达",
    "鸿运",
    "天成",
    "宏远",
    "中联",
    "新创",
    "汇通",
    "安捷",
    "盛世",
    "永昌",
    "润丰",
    "博远",
    "信达",
    "泰和",
    "嘉禾",
    "远航",
    "同创",
    "卓越",
    "创新",
    "海纳",
    "宏图",
    "正元",
    "华夏",
    "九州",
    "长城",
    "星辰",
    "蓝天",
    "光明",
    "祥瑞",
    "锦程",
    "银河",
    "方正",
    "大地",
    "金鼎",
    "和信",
)

CUSTOMER_TEMPLATES = {
    "GOV": (
        "{city}市大数据局",
        "{city}市人民政府办公室",
        "{city}市公安局",
        "{city}市税务局",
        "{city}市住房和城乡建设局",
        "{city}市人力资源和社会保障局",
        "{city}市自然资源局",
        "{city}市{brand}区政务服务中心",
        "{city}市卫生健康委员会",
        "{city}市应急管理局",
    ),
    "FIN": (
        "{city}农村商业银行股份有限公司",
        "{city}银行股份有限公司",
        "{brand}证券{city}分公司",
        "{brand}保险{city}中心支公司",
        "{city}{brand}村镇银行",
        "{brand}信托有限责任公司{city}营业部",
    ),
    "TEL": (
        "中国移动通信集团{province}有限公司{city}分公司",
        "中国联合网络通信有限公司{city}市分公司",
        "中国电信股份有限公司{city}分公司",
        "{city}{brand}广电网络有限公司",
    ),
    "ENE": (
        "国网{province}省电力有限公司{city}供电公司",
        "{city}燃气集团有限公司",
        "{city}热力有限公司",
        "{city}{brand}能源有限公司",
        "{city}水务集团有限公司",
    ),
    "EDU": (
        "{city}大学",
        "{city}职业技术学院",
        "{city}市第一中学",
        "{city}{brand}学院",
        "{city}市教育局",
        "{city}师范学院",
    ),
    "MED": (
        "{city}市人民医院",
        "{city}市中心医院",
        "{city}市妇幼保健院",
        "{city}市中医医院",
        "{city}{brand}医院",
        "{city}市疾病预防控制中心",
    ),
    "MFG": (
        "{city}{brand}机械有限公司",
        "{city}{brand}汽车零部件有限公司",
        "{city}{brand}电子科技有限公司",
        "{city}{brand}化工股份有限公司",
        "{city}{brand}钢铁集团有限公司",
        "{city}{brand}食品有限公司",
        "{city}{brand}制药有限公司",
        "{city}{brand}纺织有限公司",
    ),
    "TRA": (
        "{city}地铁集团有限公司",
        "{city}公交集团有限公司",
        "{city}港务集团有限公司",
        "{city}{brand}物流有限公司",
        "{city}机场集团有限公司",
        "{city}高速公路管理有限公司",
    ),
}

PARTNER_SUFFIXES = (
    "信息技术有限公司",
    "科技有限公司",
    "系统集成有限公司",
    "数码科技有限公司",
    "网络工程有限公司",
)

VISIT_TYPES = ("上门拜访", "技术交流", "商务洽谈", "电话沟通")
VISIT_SUMMARIES = (
    "与客户信息中心主任沟通项目需求，确认技术路线。",
    "拜访客户分管领导，汇报方案进展，客户反馈积极。",
    "组织技术交流会，演示产品方案，客户提出性能指标要求。",
    "商务洽谈，讨论价格与付款方式，客户希望本月内完成内部审批。",
    "跟进招标文件编制进度，了解评分标准。",
    "与采购部门沟通合同条款，确认交付时间。",
    "回访客户，了解竞争对手动态。",
)
REPORT_CONTENTS = (
    "今日拜访客户，跟进重点商机，整理方案材料。",
    "完成投标文件准备，与售前确认配置清单。",
    "参加区域周例会，更新商机信息，跟进回款。",
    "电话沟通客户需求，安排下周技术交流。",
    "跟进合同审批流程，协调交付资源。",
    "整理客户资料，更新CRM中的预计下单日期。",
)
APPROVAL_COMMENTS = ("已阅", "收到，继续跟进", "注意回款进度", "重点客户要加强拜访", "同意", "好的")
LOST_REASONS = ("价格劣势", "技术方案未通过", "客户预算取消", "竞争对手关系更强", "项目延期无限期")
WEEKLY_CONTENTS = (
    "本周计划拜访重点客户，推进在手商机，跟进回款。",
    "本周重点：投标准备、技术交流、合同签订。",
    "本周跟进待下单商机，推动客户完成采购流程。",
)
