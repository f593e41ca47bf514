//! The pricing engine: seat prices, offers as rules, convenience fee and tax per city. Integer
//! minor units throughout, rounding half-up, never below zero.

use super::layout::SeatType;
use serde::{Deserialize, Serialize};

/// `value × numerator / denominator`, rounded half-up (all inputs non-negative).
pub fn mul_div_half_up(value: i64, numerator: i64, denominator: i64) -> i64 {
    if denominator <= 0 {
        return 0;
    }
    let v = value as i128 * numerator as i128;
    let d = denominator as i128;
    ((v * 2 + d) / (2 * d)) as i64
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE", deny_unknown_fields)]
pub enum OfferRule {
    /// Every third ticket of a booking at 50 % off (tickets ordered by price, highest first).
    /// A struct variant, not a unit one: serde ignores every other field of an internally tagged
    /// unit variant, `deny_unknown_fields` notwithstanding, and unknown fields are a 400.
    Third50 {},
    /// `percent` off the subtotal, at most `maxDiscount`.
    #[serde(rename_all = "camelCase")]
    PercentOff { percent: i64, max_discount: i64 },
    /// `amount` off when the subtotal is at least `minSubtotal`.
    #[serde(rename_all = "camelCase")]
    FlatOff { amount: i64, min_subtotal: i64 },
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OfferScope {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub city_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub theatre_ids: Vec<String>,
    /// Show dates (the city's calendar), inclusive, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    pub code: String,
    pub description: String,
    pub rule: OfferRule,
    pub scope: OfferScope,
    /// Bookings per user that may use this offer; `None` for no limit.
    pub per_user_limit: Option<i64>,
    pub active: bool,
}

impl Offer {
    pub fn validate(&self) -> Result<(), String> {
        match &self.rule {
            OfferRule::Third50 {} => {}
            OfferRule::PercentOff {
                percent,
                max_discount,
            } => {
                if !(1..=100).contains(percent) || *max_discount < 0 {
                    return Err("PERCENT_OFF needs percent 1–100 and maxDiscount ≥ 0".into());
                }
            }
            OfferRule::FlatOff {
                amount,
                min_subtotal,
            } => {
                if *amount <= 0 || *min_subtotal < 0 {
                    return Err("FLAT_OFF needs amount > 0 and minSubtotal ≥ 0".into());
                }
            }
        }
        if self.per_user_limit.is_some_and(|l| l < 1) {
            return Err("perUserLimit must be at least 1".into());
        }
        for d in [&self.scope.valid_from, &self.scope.valid_to]
            .into_iter()
            .flatten()
        {
            if chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err() {
                return Err(format!("'{d}' is not a date, YYYY-MM-DD"));
            }
        }
        if let (Some(f), Some(t)) = (&self.scope.valid_from, &self.scope.valid_to) {
            if f > t {
                return Err("validFrom is after validTo".into());
            }
        }
        Ok(())
    }
}

/// Where and when a booking is made, for offer scopes.
pub struct BookingContext<'a> {
    pub city_id: &'a str,
    pub theatre_id: &'a str,
    pub show_date: &'a str,
}

pub struct PricedSeat<'a> {
    pub seat_id: &'a str,
    pub seat_type: SeatType,
    pub price: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppliedOffer {
    pub code: String,
    pub description: String,
    pub amount: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pricing {
    pub currency: String,
    pub subtotal: i64,
    pub discount: i64,
    pub fees: i64,
    pub tax: i64,
    pub total: i64,
    pub applied_offers: Vec<AppliedOffer>,
    /// Loyalty points the booking redeemed (their value is part of `discount`, and an entry of
    /// `appliedOffers` under `LOYALTY_POINTS`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub points_redeemed: i64,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// The code of loyalty points among a booking's applied offers.
pub const POINTS_CODE: &str = "LOYALTY_POINTS";

/// Points a booking asks to redeem, at its city's rate.
#[derive(Debug, Clone, Copy)]
pub struct PointsToRedeem {
    pub requested: i64,
    pub rate: super::loyalty::LoyaltyRate,
}

pub struct Charges<'a> {
    pub currency: &'a str,
    pub fee_per_ticket: i64,
    pub tax_basis_points: i64,
}

/// Why an offer does not apply to this booking.
pub fn offer_discount(
    offer: &Offer,
    seats: &[PricedSeat],
    ctx: &BookingContext,
) -> Result<i64, String> {
    if !offer.active {
        return Err(format!("coupon {} is no longer active", offer.code));
    }
    let s = &offer.scope;
    if !s.city_ids.is_empty() && !s.city_ids.iter().any(|c| c == ctx.city_id) {
        return Err(format!("coupon {} is not valid in this city", offer.code));
    }
    if !s.theatre_ids.is_empty() && !s.theatre_ids.iter().any(|t| t == ctx.theatre_id) {
        return Err(format!(
            "coupon {} is not valid at this theatre",
            offer.code
        ));
    }
    if s.valid_from.as_deref().is_some_and(|f| ctx.show_date < f)
        || s.valid_to.as_deref().is_some_and(|t| ctx.show_date > t)
    {
        return Err(format!(
            "coupon {} is not valid for shows on {}",
            offer.code, ctx.show_date
        ));
    }
    let subtotal: i64 = seats.iter().map(|s| s.price).sum();
    let discount = match &offer.rule {
        OfferRule::Third50 {} => {
            let mut prices: Vec<i64> = seats.iter().map(|s| s.price).collect();
            prices.sort_unstable_by(|a, b| b.cmp(a));
            let d: i64 = prices
                .iter()
                .skip(2)
                .step_by(3)
                .map(|p| mul_div_half_up(*p, 1, 2))
                .sum();
            if d == 0 {
                return Err(format!("coupon {} needs at least 3 tickets", offer.code));
            }
            d
        }
        OfferRule::PercentOff {
            percent,
            max_discount,
        } => mul_div_half_up(subtotal, *percent, 100).min(*max_discount),
        OfferRule::FlatOff {
            amount,
            min_subtotal,
        } => {
            if subtotal < *min_subtotal {
                return Err(format!(
                    "coupon {} needs a subtotal of at least {min_subtotal}",
                    offer.code
                ));
            }
            *amount
        }
    };
    Ok(discount.clamp(0, subtotal))
}

/// Prices a booking. The coupon's discount comes first, then the loyalty points (whole points,
/// never worth more than the tickets still cost: `LoyaltyRate::points_used`); tax applies to what
/// is charged for tickets after both, plus fees.
pub fn price(
    seats: &[PricedSeat],
    charges: &Charges,
    offer: Option<&Offer>,
    points: Option<PointsToRedeem>,
    ctx: &BookingContext,
) -> Result<Pricing, String> {
    let subtotal: i64 = seats.iter().map(|s| s.price).sum();
    let (mut discount, mut applied_offers) = match offer {
        None => (0, Vec::new()),
        Some(o) => {
            let d = offer_discount(o, seats, ctx)?;
            (
                d,
                vec![AppliedOffer {
                    code: o.code.clone(),
                    description: o.description.clone(),
                    amount: d,
                }],
            )
        }
    };
    let points_redeemed =
        points.map_or(0, |p| p.rate.points_used(p.requested, subtotal - discount));
    if points_redeemed > 0 {
        let value = points_redeemed * points.map_or(0, |p| p.rate.point_value);
        discount += value;
        applied_offers.push(AppliedOffer {
            code: POINTS_CODE.into(),
            description: format!("{points_redeemed} loyalty points"),
            amount: value,
        });
    }
    let fees = charges.fee_per_ticket.max(0) * seats.len() as i64;
    let taxable = (subtotal - discount).max(0) + fees;
    let tax = mul_div_half_up(taxable, charges.tax_basis_points.max(0), 10_000);
    Ok(Pricing {
        currency: charges.currency.to_owned(),
        subtotal,
        discount,
        fees,
        tax,
        total: (taxable + tax).max(0),
        applied_offers,
        points_redeemed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seats(prices: &[i64]) -> Vec<PricedSeat<'static>> {
        prices
            .iter()
            .map(|p| PricedSeat {
                seat_id: "x",
                seat_type: SeatType::Regular,
                price: *p,
            })
            .collect()
    }

    fn offer(rule: OfferRule) -> Offer {
        Offer {
            code: "C".into(),
            description: "d".into(),
            rule,
            scope: OfferScope::default(),
            per_user_limit: None,
            active: true,
        }
    }

    const CTX: BookingContext = BookingContext {
        city_id: "blr",
        theatre_id: "th_1",
        show_date: "2026-12-05",
    };
    const NO_CHARGES: Charges = Charges {
        currency: "INR",
        fee_per_ticket: 0,
        tax_basis_points: 0,
    };

    #[test]
    fn half_up_rounding() {
        for (v, n, d, want) in [
            (5, 1, 2, 3),
            (4, 1, 2, 2),
            (10001, 1800, 10000, 1800),
            (25, 1800, 10000, 5),
            (1, 1, 3, 0),
            (2, 1, 3, 1),
            (0, 5, 7, 0),
        ] {
            assert_eq!(mul_div_half_up(v, n, d), want, "{v}×{n}/{d}");
        }
    }

    #[test]
    fn third50_discounts_every_third_ticket() {
        let o = offer(OfferRule::Third50 {});
        // (ticket prices, expected discount): the cheaper of each three is halved.
        let table: &[(&[i64], Option<i64>)] = &[
            (&[200], None),
            (&[200, 200], None),
            (&[200, 200, 200], Some(100)),
            (&[300, 200, 201], Some(100)),
            (&[200; 6], Some(200)),
            (&[200; 7], Some(200)),
            (&[101, 101, 101], Some(51)),
        ];
        for (prices, want) in table {
            let got = offer_discount(&o, &seats(prices), &CTX).ok();
            assert_eq!(got, *want, "{prices:?}");
        }
    }

    #[test]
    fn percent_caps_and_flat_minimums() {
        let pct = offer(OfferRule::PercentOff {
            percent: 10,
            max_discount: 5000,
        });
        assert_eq!(
            offer_discount(&pct, &seats(&[18000, 18000]), &CTX),
            Ok(3600)
        );
        assert_eq!(
            offer_discount(&pct, &seats(&[40000, 40000]), &CTX),
            Ok(5000),
            "capped"
        );
        assert_eq!(
            offer_discount(&pct, &seats(&[15]), &CTX),
            Ok(2),
            "1.5 rounds half-up to 2"
        );
        let flat = offer(OfferRule::FlatOff {
            amount: 10000,
            min_subtotal: 30000,
        });
        assert_eq!(
            offer_discount(&flat, &seats(&[18000, 18000]), &CTX),
            Ok(10000)
        );
        let err = offer_discount(&flat, &seats(&[18000]), &CTX).unwrap_err();
        assert!(err.contains("at least 30000"), "{err}");
        let big = offer(OfferRule::FlatOff {
            amount: 50000,
            min_subtotal: 0,
        });
        assert_eq!(
            offer_discount(&big, &seats(&[18000]), &CTX),
            Ok(18000),
            "never more than the subtotal"
        );
    }

    #[test]
    fn scopes_restrict_where_and_when() {
        let mut o = offer(OfferRule::PercentOff {
            percent: 10,
            max_discount: 100,
        });
        o.scope.city_ids = vec!["mum".into()];
        assert!(offer_discount(&o, &seats(&[1000]), &CTX)
            .unwrap_err()
            .contains("city"));
        o.scope.city_ids = vec!["blr".into()];
        o.scope.theatre_ids = vec!["th_2".into()];
        assert!(offer_discount(&o, &seats(&[1000]), &CTX)
            .unwrap_err()
            .contains("theatre"));
        o.scope.theatre_ids.clear();
        o.scope.valid_from = Some("2026-12-06".into());
        assert!(offer_discount(&o, &seats(&[1000]), &CTX)
            .unwrap_err()
            .contains("2026-12-05"));
        o.scope.valid_from = Some("2026-12-05".into());
        o.scope.valid_to = Some("2026-12-05".into());
        assert_eq!(offer_discount(&o, &seats(&[1000]), &CTX), Ok(100));
        o.active = false;
        assert!(offer_discount(&o, &seats(&[1000]), &CTX).is_err());
    }

    #[test]
    fn totals_add_fees_and_tax_and_never_go_negative() {
        let charges = Charges {
            currency: "INR",
            fee_per_ticket: 3000,
            tax_basis_points: 1800,
        };
        let p = price(
            &seats(&[18000, 18000, 18000]),
            &charges,
            Some(&offer(OfferRule::Third50 {})),
            None,
            &CTX,
        )
        .expect("priced");
        // subtotal 54000, discount 9000, fees 9000, tax 18 % of 54000 = 9720.
        assert_eq!(
            (p.subtotal, p.discount, p.fees, p.tax, p.total),
            (54000, 9000, 9000, 9720, 63720)
        );
        assert_eq!(p.applied_offers[0].amount, 9000);
        let free = price(&seats(&[0]), &NO_CHARGES, None, None, &CTX).expect("priced");
        assert_eq!(free.total, 0);
        let all_off = price(
            &seats(&[500]),
            &NO_CHARGES,
            Some(&offer(OfferRule::FlatOff {
                amount: 900,
                min_subtotal: 0,
            })),
            None,
            &CTX,
        )
        .expect("priced");
        assert_eq!((all_off.discount, all_off.total), (500, 0));
    }

    #[test]
    fn points_follow_the_coupon_and_never_pay_more_than_the_tickets() {
        let charges = Charges {
            currency: "INR",
            fee_per_ticket: 3000,
            tax_basis_points: 1800,
        };
        let rate = crate::domain::loyalty::LoyaltyRate {
            earn_basis_points: 500,
            point_value: 100,
        };
        let points = |requested| Some(PointsToRedeem { requested, rate });
        let flat = offer(OfferRule::FlatOff {
            amount: 10000,
            min_subtotal: 0,
        });
        // 18000 − 10000 coupon − 30 points × 100; fee 3000; tax 18 % of 8000 = 1440.
        let p = price(&seats(&[18000]), &charges, Some(&flat), points(30), &CTX).expect("priced");
        assert_eq!(
            (p.discount, p.points_redeemed, p.tax, p.total),
            (13000, 30, 1440, 9440)
        );
        assert_eq!(
            p.applied_offers
                .iter()
                .map(|o| (o.code.as_str(), o.amount))
                .collect::<Vec<_>>(),
            vec![("C", 10000), (POINTS_CODE, 3000)]
        );
        // Asking for more than the tickets cost uses only what they cost: 80 of 500 points.
        let p = price(&seats(&[18000]), &charges, Some(&flat), points(500), &CTX).expect("priced");
        assert_eq!((p.discount, p.points_redeemed, p.total), (18000, 80, 3540));
        let none = price(&seats(&[18000]), &charges, None, points(0), &CTX).expect("priced");
        assert_eq!((none.points_redeemed, none.applied_offers.len()), (0, 0));
        assert!(!serde_json::to_string(&none)
            .expect("serializes")
            .contains("pointsRedeemed"));
    }

    #[test]
    fn offers_validate() {
        assert!(offer(OfferRule::PercentOff {
            percent: 0,
            max_discount: 1
        })
        .validate()
        .is_err());
        assert!(offer(OfferRule::FlatOff {
            amount: 0,
            min_subtotal: 0
        })
        .validate()
        .is_err());
        let mut o = offer(OfferRule::Third50 {});
        o.per_user_limit = Some(0);
        assert!(o.validate().is_err());
        o.per_user_limit = Some(2);
        o.scope.valid_from = Some("2026-12-10".into());
        o.scope.valid_to = Some("2026-12-01".into());
        assert!(o.validate().is_err());
        let rule: OfferRule =
            serde_json::from_str(r#"{"type":"PERCENT_OFF","percent":10,"maxDiscount":5000}"#)
                .expect("parses");
        assert_eq!(
            rule,
            OfferRule::PercentOff {
                percent: 10,
                max_discount: 5000
            }
        );
        let third: OfferRule = serde_json::from_str(r#"{"type":"THIRD50"}"#).expect("parses");
        assert_eq!(third, OfferRule::Third50 {});
        assert_eq!(
            serde_json::to_string(&third).expect("serializes"),
            r#"{"type":"THIRD50"}"#
        );
        for unknown in [
            r#"{"type":"THIRD50","x":1}"#,
            r#"{"type":"PERCENT_OFF","percent":10,"maxDiscount":5000,"x":1}"#,
            r#"{"type":"FLAT_OFF","amount":10,"minSubtotal":0,"x":1}"#,
        ] {
            assert!(
                serde_json::from_str::<OfferRule>(unknown).is_err(),
                "{unknown} accepted"
            );
        }
    }
}
