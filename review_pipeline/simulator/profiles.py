"""Size profiles and the injection rates of authenticity problems."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from review_pipeline.errors import UserError

RULES = (
    "LQ01",
    "LQ02",
    "LQ03",
    "LQ04",
    "LQ05",
    "LQ06",
    "LQ07",
    "LQ08",
    "LQ09",
    "LQ10",
    "LQ11",
    "LQ12",
    "LQ13",
    "DR01",
    "DR02",
    "FILE",
)

# Probability that one opportunity (or the unit named) carries the defect.
DEFAULT_RATES: dict[str, float] = {
    "LQ01": 0.004,  # per lead at creation
    "LQ02": 0.004,  # per lead at creation (half zero/negative, half outlier)
    "LQ03": 0.003,  # per lead at creation
    "LQ04": 0.006,  # per lead reaching S2
    "LQ05": 0.02,  # per slip of the expected order date (the slip comes late)
    "LQ06": 0.03,  # per S3+ period of 45 days or more (a visit gap over 30 days)
    "LQ07": 0.004,  # per lead: a duplicate is entered
    "LQ08": 0.02,  # per named customer
    "LQ09": 0.02,  # per lead entering S4
    "LQ10": 0.03,  # per ordered lead
    "LQ11": 0.004,  # per lead: back-filled, created at S4/S5
    "LQ12": 0.10,  # per open lead of a leaver: handed over late
    "LQ13": 0.002,  # x4 per lead closing after the start: impossible updated_at on the close
    "DR01": 0.04,  # per expected daily report: missing or late
    "DR02": 0.04,  # per submitted report: approved late or never
    "FILE": 0.004,  # per finance file row: malformed
}


@dataclass(frozen=True)
class Profile:
    name: str
    n_sales: int  # sales positions in the company
    n_customers: int
    lines_per_customer: float  # mean product lines a customer buys (slots per customer)
    default_days: int
    attrition: float = 0.15  # share of people leaving per year
    transfers_per_year: float = 0.05  # share of salespeople transferred per year
    adhoc_orders_per_day: float = 2.0  # orders without a lead, per working day
    general_visits_per_day: float = 3.0  # visits without a lead, per working day
    rates: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_RATES))

    @property
    def n_slots(self) -> int:
        return int(self.n_customers * self.lines_per_customer)

    def with_rates(self, scale: float = 1.0, overrides: dict[str, float] | None = None) -> Profile:
        rates = {k: min(1.0, v * scale) for k, v in self.rates.items()}
        for key, value in (overrides or {}).items():
            if key not in RULES:
                raise UserError(f"unknown rule {key!r} in --rate; known: {', '.join(RULES)}")
            if not 0.0 <= value <= 1.0:
                raise UserError(f"rate for {key} must be between 0 and 1, got {value}")
            rates[key] = value
        return replace(self, rates=rates)


PROFILES: dict[str, Profile] = {
    # ~80 salespeople, ~6,000 leads in 180 days
    "small": Profile(
        "small", n_sales=80, n_customers=1150, lines_per_customer=2.4, default_days=180
    ),
    # ~400 salespeople, ~60,000 leads in a year
    "medium": Profile(
        "medium",
        n_sales=400,
        n_customers=6200,
        lines_per_customer=2.4,
        default_days=365,
        adhoc_orders_per_day=8.0,
        general_visits_per_day=15.0,
    ),
    # ~2,000 salespeople, ~1,000,000 leads in two years
    "large": Profile(
        "large",
        n_sales=2000,
        n_customers=52000,
        lines_per_customer=2.6,
        default_days=730,
        adhoc_orders_per_day=30.0,
        general_visits_per_day=60.0,
    ),
    # a tiny world for tests
    "tiny": Profile(
        "tiny",
        n_sales=40,
        n_customers=250,
        lines_per_customer=2.4,
        default_days=30,
        attrition=0.6,
        transfers_per_year=0.3,
        adhoc_orders_per_day=1.0,
        general_visits_per_day=1.0,
    ),
}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise UserError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}") from None
