//! Electronic supervision cards (电子监察 黄牌/红牌, R-SUP) of a running statutory clock: a
//! yellow card once the item nears its deadline — its last early-warning point (预警) has passed
//! — and a red card once the deadline is missed. The desk says which card comes next and when
//! ("20分后黄牌"), since that is what the clerk is judged by.

use chrono::{DateTime, Utc};

/// A supervision card. Codes are stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Card {
    /// 黄牌: the deadline is near.
    Yellow,
    /// 红牌: the deadline was missed.
    Red,
}

impl Card {
    pub fn code(self) -> &'static str {
        match self {
            Card::Yellow => "yellow",
            Card::Red => "red",
        }
    }

    pub fn from_code(code: &str) -> Option<Card> {
        [Card::Yellow, Card::Red].into_iter().find(|c| c.code() == code)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Card::Yellow => "黄牌",
            Card::Red => "红牌",
        }
    }
}

/// The cards of a running clock at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CardState {
    /// The card the item holds now, if any.
    pub held: Option<Card>,
    /// The next card and the instant it comes; `None` once red.
    pub next: Option<(Card, DateTime<Utc>)>,
}

/// The cards at `now` of a clock due at `due` with its early-warning instants `warnings`
/// (`statutory::warning_points`; the last one is where the yellow card comes).
pub fn card_state(now: DateTime<Utc>, warnings: &[DateTime<Utc>], due: DateTime<Utc>) -> CardState {
    if now > due {
        return CardState {
            held: Some(Card::Red),
            next: None,
        };
    }
    match warnings.iter().copied().filter(|w| *w <= due).max() {
        Some(yellow) if now < yellow => CardState {
            held: None,
            next: Some((Card::Yellow, yellow)),
        },
        Some(_) => CardState {
            held: Some(Card::Yellow),
            next: Some((Card::Red, due)),
        },
        None => CardState {
            held: None,
            next: Some((Card::Red, due)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn t(min: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 1, 0, 0).unwrap() + Duration::minutes(min)
    }

    #[test]
    fn the_next_card_and_when() {
        let warnings = [t(30), t(48)];
        // (now, held, next)
        let table = [
            (0, None, Some((Card::Yellow, t(48)))),
            (31, None, Some((Card::Yellow, t(48)))),
            (48, Some(Card::Yellow), Some((Card::Red, t(60)))),
            (60, Some(Card::Yellow), Some((Card::Red, t(60)))),
            (61, Some(Card::Red), None),
        ];
        for (now, held, next) in table {
            let s = card_state(t(now), &warnings, t(60));
            assert_eq!((s.held, s.next), (held, next), "at minute {now}");
        }
        // Without warning points the next card is the red one at the deadline.
        assert_eq!(card_state(t(0), &[], t(60)).next, Some((Card::Red, t(60))));
        for c in [Card::Yellow, Card::Red] {
            assert_eq!(Card::from_code(c.code()), Some(c));
        }
    }
}
